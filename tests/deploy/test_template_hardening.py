"""What the security review (issue 18) asked of cloudformation.yaml: alarms that can fire, results that expire,
an API that cannot be starved, scoped listing, sandboxed results, TLS-only queues. Read with the package's own
template reader and resolver."""
from __future__ import annotations

from fnmatch import fnmatchcase

import pytest

from pixelate.deploy.template import Context, load_template, parameter_defaults, resolve, resources_of_type
from pixelate.local.emulate import bucket_requests, stack_context


@pytest.fixture(scope="module")
def tpl() -> dict:
    return load_template()


def _ctx(tpl, **values) -> Context:
    params = {**parameter_defaults(tpl), "CodeBucket": "b", "CodeKey": "k", **values}
    ctx = Context(tpl, params, pseudo={"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012",
                                       "AWS::StackName": "pixelator"},
                  get_att=lambda resource, attribute: f"{resource}.{attribute}")
    ctx.physical_ids.update({name: f"{name}-id" for name in tpl["Resources"]})
    return ctx


def _alarms_on(tpl, namespace: str, metric: str) -> list[dict]:
    return [a for a in resources_of_type(tpl, "AWS::CloudWatch::Alarm").values()
            if (a["Properties"]["Namespace"], a["Properties"]["MetricName"]) == (namespace, metric)]


# ---------------------------------------------------------------- 1. alarms that can fire

def test_api_5xx_answers_raise_an_alarm(tpl):
    # the api answers a bug with a 500 response, so the function's Errors metric stays 0: the API's 5xx does not
    alarm, = _alarms_on(tpl, "AWS/ApiGateway", "5xx")
    assert alarm.get("Condition") == "IsAws"  # the HTTP API exists only on AWS
    assert alarm["Properties"]["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}]
    assert alarm["Properties"]["AlarmActions"] == [{"Ref": "NotificationTopic"}]


def test_transient_failures_the_handler_counts_raise_an_alarm(tpl):
    # the handler answers transient failures as batchItemFailures: nothing raises, so Lambda Errors stays 0
    alarm, = _alarms_on(tpl, "Pixelator", "TransientFailures")
    env = tpl["Resources"]["PixelateFunction"]["Properties"]["Environment"]["Variables"]
    # the EMF namespace and the "service" dimension Powertools adds are the function's own
    assert alarm["Properties"]["Namespace"] == env["POWERTOOLS_METRICS_NAMESPACE"]
    assert alarm["Properties"]["Dimensions"] == [{"Name": "service", "Value": env["POWERTOOLS_SERVICE_NAME"]}]
    assert alarm["Properties"]["Statistic"] == "Sum" and alarm["Properties"]["Threshold"] == 1
    assert alarm["Properties"]["AlarmActions"] == [{"Ref": "NotificationTopic"}]


def test_an_old_job_raises_an_alarm_before_the_dead_letter_queue_would(tpl):
    alarm, = _alarms_on(tpl, "AWS/SQS", "ApproximateAgeOfOldestMessage")
    props = alarm["Properties"]
    assert props["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["JobQueue", "QueueName"]}}]
    assert props["Threshold"] == {"Ref": "JobAgeAlarmSeconds"} and props["AlarmActions"] == [{"Ref": "NotificationTopic"}]
    defaults = parameter_defaults(tpl)
    # a job reaches the DLQ after MaxReceiveCount visibility timeouts: the age alarm comes first
    assert int(defaults["JobAgeAlarmSeconds"]) < int(defaults["MaxReceiveCount"]) * int(defaults["QueueVisibilityTimeout"])


# ---------------------------------------------------------------- 3. results expire, and are cached briefly

def test_results_and_status_records_expire_and_the_page_does_not(tpl):
    defaults = parameter_defaults(tpl)
    assert int(defaults["ResultRetentionDays"]) >= 1
    ctx = stack_context(tpl, {**defaults, "Environment": "local", "CodeBucket": "b", "CodeKey": "k",
                              "ResultRetentionDays": "9"}, {"ProcessedBucket": "p"}, "us-east-1", "1", "s")
    calls = {op: kwargs for _, op, kwargs in bucket_requests(resolve(tpl["Resources"]["ProcessedBucket"]["Properties"], ctx))}
    rules = calls["put_bucket_lifecycle_configuration"]["LifecycleConfiguration"]["Rules"]
    expiring = {r["Filter"]["Prefix"]: r["Expiration"]["Days"] for r in rules if "Expiration" in r}
    assert expiring == {"pixelated/": 9, "status/": 9, "backfill-runs/": 9}  # site/ (the page) never expires


def test_cloudfront_keeps_results_no_longer_than_the_parameter_says(tpl):
    config = tpl["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert behaviours["pixelated/*"]["CachePolicyId"] == {"Ref": "ResultsCachePolicy"}
    policy = tpl["Resources"]["ResultsCachePolicy"]["Properties"]["CachePolicyConfig"]
    assert policy["MaxTTL"] == policy["DefaultTTL"] == {"Ref": "ResultCacheSeconds"}
    assert int(parameter_defaults(tpl)["ResultCacheSeconds"]) <= 86400
    # viewers too: the objects say "max-age=31536000, immutable"; CloudFront answers with the shorter cache
    headers = tpl["Resources"]["ResultsResponseHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    cache_control, = [h for h in headers["CustomHeadersConfig"]["Items"] if h["Header"] == "Cache-Control"]
    assert cache_control["Override"] is True
    assert resolve(cache_control["Value"], _ctx(tpl, ResultCacheSeconds="600")) == "public, max-age=600"


# ---------------------------------------------------------------- 4. the API cannot be starved

def test_the_api_function_has_reserved_concurrency_unless_set_to_none(tpl):
    props = tpl["Resources"]["ApiFunction"]["Properties"]
    assert int(parameter_defaults(tpl)["ApiReservedConcurrency"]) >= 1
    assert resolve({"x": props["ReservedConcurrentExecutions"]}, _ctx(tpl)) == {"x": parameter_defaults(tpl)["ApiReservedConcurrency"]}
    # 0 means "reserve none" (an account whose whole limit is 10), not "throttle every call"
    assert resolve({"x": props["ReservedConcurrentExecutions"]}, _ctx(tpl, ApiReservedConcurrency="0")) == {}


def test_slow_routes_have_throttles_of_their_own(tpl):
    routes = {r["Properties"]["RouteKey"]: name for name, r in resources_of_type(tpl, "AWS::ApiGatewayV2::Route").items()}
    assert {"ANY /api/{proxy+}", "POST /api/uploads", "POST /api/pixelate", "POST /api/detect"} <= set(routes)
    stage = tpl["Resources"]["HttpApiStage"]
    settings = stage["Properties"]["RouteSettings"]
    assert set(settings) <= set(routes)  # every throttled route exists ...
    assert {routes[key] for key in settings} <= set(stage["DependsOn"])  # ... before the stage names it
    default = stage["Properties"]["DefaultRouteSettings"]
    for slow in ("POST /api/pixelate", "POST /api/detect"):
        assert settings[slow]["ThrottlingRateLimit"] < settings["POST /api/uploads"]["ThrottlingRateLimit"] \
            < default["ThrottlingRateLimit"]
        assert settings[slow]["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"]
    # at their full rates the slow routes cannot hold every reserved execution: uploads and polls keep some
    assert sum(settings[s]["ThrottlingBurstLimit"] for s in ("POST /api/pixelate", "POST /api/detect")) \
        < int(parameter_defaults(tpl)["ApiReservedConcurrency"])
    for key, name in routes.items():
        assert tpl["Resources"][name]["Properties"]["Target"] == {"Fn::Sub": "integrations/${HttpApiIntegration}"}, key


def test_the_default_endpoint_stays_on_while_cloudfront_reaches_the_api_through_it(tpl):
    # DisableExecuteApiEndpoint would cut CloudFront off: its api origin *is* the execute-api endpoint (a custom
    # domain would be the only other way in, and it is as public). Throttles and reserved concurrency apply to
    # both paths alike.
    origins = {o["Id"]: o for o in tpl["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["Origins"]}
    assert "execute-api" in origins["api"]["DomainName"]["Fn::Sub"]
    assert tpl["Resources"]["HttpApi"]["Properties"].get("DisableExecuteApiEndpoint") in (None, False)


# ---------------------------------------------------------------- 6. scoped listing, no reading what is not needed

def _statements(tpl, role: str, ctx: Context) -> list[dict]:
    out = []
    for policy in tpl["Resources"][role]["Properties"]["Policies"]:
        out += resolve(policy["PolicyDocument"]["Statement"], ctx)
    for policy in resources_of_type(tpl, "AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"] and resolve({"c": {"Condition": policy["Condition"]}}, ctx)["c"]:
            out += resolve(policy["Properties"]["PolicyDocument"]["Statement"], ctx)
    return out


def _listable_prefixes(statements: list[dict], bucket_arn: str) -> list[str] | None:
    """The s3:prefix patterns under which ``bucket_arn`` may be listed (None: any listing at all)."""
    patterns = []
    for s in statements:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        if "s3:ListBucket" in actions and bucket_arn in resources:
            condition = s.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
            if condition is None:
                return None
            patterns += condition
    return patterns


#: Listings that would enumerate other people's uploads.
ENUMERATING = ["", "status/", "status/uploads/", "status/uploads/a", "status/uploads/3f", "pixelated/", "s"]


@pytest.mark.parametrize("role", ["PixelateRole", "ApiRole"])
def test_no_role_can_enumerate_the_processed_bucket(tpl, role):
    for delete in ("true", "false"):
        ctx = _ctx(tpl, DeleteOriginals=delete)
        patterns = _listable_prefixes(_statements(tpl, role, ctx), "ProcessedBucket.Arn")
        assert patterns is not None, f"{role} may list the processed bucket whole"
        for prefix in ENUMERATING:
            assert not any(fnmatchcase(prefix, p) for p in patterns), (role, prefix, patterns)


def test_missing_status_records_still_answer_404_to_the_functions_that_read_them(tpl):
    # S3 answers 404 (not 403) for a missing key only to who may list it; it checks that with the key as s3:prefix
    upload_status = "status/uploads/0123456789abcdef0123456789abcdef/cat (1).jpg.json"
    direct_status = "status/holiday/photo.jpg.json"
    pixelate = _listable_prefixes(_statements(tpl, "PixelateRole", _ctx(tpl)), "ProcessedBucket.Arn")
    assert all(any(fnmatchcase(key, p) for p in pixelate) for key in (upload_status, direct_status))
    api = _listable_prefixes(_statements(tpl, "ApiRole", _ctx(tpl)), "ProcessedBucket.Arn")
    assert any(fnmatchcase("status/uploads/0123456789abcdef0123456789abcdef/", p) for p in api)  # what the api lists


def test_the_pixelate_function_reads_its_outputs_which_every_job_heads_before_writing_its_own(tpl):
    """Every job heads pixelated/<key> (its write is conditioned on what was there): on AWS HeadObject needs
    s3:GetObject, which the role had only with DeleteOriginals, so every job would have failed with 403 into the
    dead-letter queue (moto does not enforce IAM). It may not list pixelated/ (test above): a missing output
    answers 403, which the function reads as "none yet" (tests/service/test_handler_versions.py)."""
    def readable(delete: str) -> set[str]:
        return {r for s in _statements(tpl, "PixelateRole", _ctx(tpl, DeleteOriginals=delete))
                if "s3:GetObject" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
                for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])}
    expected = {"OriginalsBucket.Arn/*", "ProcessedBucket.Arn/status/*", "ProcessedBucket.Arn/pixelated/*"}
    assert readable("false") == readable("true") == expected


def test_results_and_status_are_served_sandboxed_and_never_sniffed(tpl):
    from pixelate.deploy.security_headers import RESULT_POLICY as RESULTS_POLICY

    behaviours = {b["PathPattern"]: b for b in tpl["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["CacheBehaviors"]}
    for path in ("pixelated/*", "status/*"):
        policy_id = behaviours[path]["ResponseHeadersPolicyId"]["Ref"]
        config = tpl["Resources"][policy_id]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
        assert config["ContentSecurityPolicy"] == {"ContentSecurityPolicy": RESULTS_POLICY, "Override": True}, path
        assert config["ContentTypeOptions"] == {"Override": True}, path  # X-Content-Type-Options: nosniff
        assert tpl["Resources"][policy_id]["Condition"] == "IsAws"


# ---------------------------------------------------------------- 12. TLS-only queues

def test_every_queue_refuses_plain_http(tpl):
    policies = {}
    for policy in resources_of_type(tpl, "AWS::SQS::QueuePolicy").values():
        for queue in policy["Properties"]["Queues"]:
            policies[queue["Ref"]] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert set(policies) == set(resources_of_type(tpl, "AWS::SQS::Queue"))
    for queue, statements in policies.items():
        deny, = [s for s in statements if s["Effect"] == "Deny"]
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} and deny["Action"] == "sqs:*", queue
        assert deny["Principal"] == "*" and deny["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}
