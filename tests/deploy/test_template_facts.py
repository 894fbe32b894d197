"""Facts of cloudformation.yaml the other parts rely on, read with the package's own template reader."""
from __future__ import annotations

import re

import pytest

from pixelate.deploy.template import (
    Context,
    TemplateError,
    function_handlers,
    load_template,
    parameter_defaults,
    parse_template,
    required_parameters,
    resolve,
    resources_of_type,
)
from tests.support.paths import REPO

DOCS = REPO / "docs" / "architecture.md"
OUTPUTS = ["OriginalsBucket", "ProcessedBucket", "JobQueueUrl", "DeadLetterQueueUrl", "NotificationTopicArn",
           "DistributionUrl", "ApiUrl", "PixelateFunctionArn", "BackfillStateMachineArn"]
PIXELATE_ENV = {"PROCESSED_BUCKET", "DEFAULT_PIXEL_SIZE", "DEFAULT_METHOD", "PIXELATE_MAX_BYTES",
                "PIXELATE_MAX_PIXELS", "PIXELATE_MAX_FRAMES", "DELETE_ORIGINALS", "NOTIFICATION_TOPIC_ARN", "SOURCE_VERSION_KEY",
                "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"}
API_ENV = {"ORIGINALS_BUCKET", "PROCESSED_BUCKET", "MAX_UPLOAD_BYTES", "DEFAULT_PIXEL_SIZE", "PUBLIC_BASE_URL"}


@pytest.fixture(scope="module")
def tpl() -> dict:
    return load_template()


def _ctx(tpl, get_att=None, **values) -> Context:
    params = {**parameter_defaults(tpl), "CodeBucket": "b", "CodeKey": "k", **values}
    return Context(tpl, params, pseudo={"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
                                        "AWS::StackName": "pixelator"}, get_att=get_att)


def test_short_tags_become_long_forms():
    doc = parse_template("Resources:\n  A:\n    Type: X\n    Properties:\n"
                         "      B: !GetAtt Q.Arn\n      C: !Sub 'x-${AWS::Region}'\n      D: !If [Cond, !Ref P, !Ref AWS::NoValue]\n")
    props = doc["Resources"]["A"]["Properties"]
    assert props == {"B": {"Fn::GetAtt": ["Q", "Arn"]}, "C": {"Fn::Sub": "x-${AWS::Region}"},
                     "D": {"Fn::If": ["Cond", {"Ref": "P"}, {"Ref": "AWS::NoValue"}]}}


def test_not_a_template_is_refused():
    with pytest.raises(TemplateError):
        parse_template("just: yaml\n")


def test_outputs_are_the_documented_names(tpl):
    assert list(tpl["Outputs"]) == OUTPUTS
    docs = DOCS.read_text()
    for name in OUTPUTS:
        assert f"`{name}`" in docs


def test_edge_outputs_and_resources_exist_only_on_aws(tpl):
    # moto answers 500 for a GetAtt of a resource it ignores: such outputs sit behind a condition false locally
    aws, local = _ctx(tpl, Environment="aws"), _ctx(tpl, Environment="local")
    for name in ("DistributionUrl", "ApiUrl", "BackfillStateMachineArn"):
        condition = tpl["Outputs"][name]["Condition"]
        assert aws.condition(condition) and not local.condition(condition)
    for name, resource in tpl["Resources"].items():
        if resource["Type"].startswith(("AWS::CloudFront::", "AWS::ApiGatewayV2::", "AWS::StepFunctions::")):
            assert resource.get("Condition") == "IsAws", name


def test_handlers_are_the_package_entry_points(tpl):
    assert sorted(function_handlers(tpl).values()) == ["pixelate.service.api.lambda_handler", "pixelate.service.handler.lambda_handler"]


def test_function_environments_carry_the_documented_names(tpl):
    functions = resources_of_type(tpl, "AWS::Lambda::Function")
    env = {f["Properties"]["Handler"]: set(f["Properties"]["Environment"]["Variables"]) for f in functions.values()}
    assert env["pixelate.service.handler.lambda_handler"] == PIXELATE_ENV
    assert API_ENV <= env["pixelate.service.api.lambda_handler"]
    docs = DOCS.read_text()
    for name in PIXELATE_ENV | API_ENV:
        assert f"`{name}`" in docs, name


def test_public_base_url_is_the_distribution_on_aws_and_the_parameter_locally(tpl):
    api = resources_of_type(tpl, "AWS::Lambda::Function")["ApiFunction"]["Properties"]["Environment"]["Variables"]
    aws = _ctx(tpl, Environment="aws", get_att=lambda resource, attribute: f"{resource}.{attribute}")
    assert resolve(api["PUBLIC_BASE_URL"], aws) == "https://Distribution.DomainName"
    assert resolve(api["PUBLIC_BASE_URL"], _ctx(tpl, Environment="local", PublicBaseUrl="http://127.0.0.1:8080")) \
        == "http://127.0.0.1:8080"


def test_code_location_is_the_only_required_input(tpl):
    assert sorted(required_parameters(tpl)) == ["CodeBucket", "CodeKey"]


def test_queue_outlives_the_function_and_redrives(tpl):
    defaults = parameter_defaults(tpl)
    assert int(defaults["QueueVisibilityTimeout"]) >= 6 * int(defaults["FunctionTimeout"])
    queue = tpl["Resources"]["JobQueue"]["Properties"]
    assert queue["VisibilityTimeout"] == {"Ref": "QueueVisibilityTimeout"}
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    mapping = resources_of_type(tpl, "AWS::Lambda::EventSourceMapping")["PixelateEventSourceMapping"]["Properties"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "MaxConcurrency"}


def test_originals_notify_the_job_queue_and_only_that_bucket_may_send(tpl):
    bucket = tpl["Resources"]["OriginalsBucket"]
    queues = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert queues == [{"Event": "s3:ObjectCreated:*", "Queue": {"Fn::GetAtt": ["JobQueue", "Arn"]}}]
    assert "JobQueuePolicy" in bucket["DependsOn"]
    statement, = [s for s in tpl["Resources"]["JobQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
                  if s["Effect"] == "Allow"]
    ctx = _ctx(tpl)
    source = resolve(statement["Condition"]["ArnEquals"]["aws:SourceArn"], ctx)
    assert source == "arn:aws:s3:::" + resolve(bucket["Properties"]["BucketName"], ctx)


def _policy_statements(tpl):
    """(role, statement) of every inline policy and of every AWS::IAM::Policy attached to a role."""
    for name, resource in resources_of_type(tpl, "AWS::IAM::Role").items():
        for policy in resource["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                yield name, statement
    for policy in resources_of_type(tpl, "AWS::IAM::Policy").values():
        for role in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                yield role["Ref"], statement


def test_the_pixelate_function_may_delete_originals_only_when_asked(tpl):
    policy = tpl["Resources"]["PixelateDeleteOriginalsPolicy"]
    assert policy["Properties"]["Roles"] == [{"Ref": "PixelateRole"}]
    assert _ctx(tpl, DeleteOriginals="true").condition(policy["Condition"])
    assert not _ctx(tpl, DeleteOriginals="false").condition(policy["Condition"])
    inline = resources_of_type(tpl, "AWS::IAM::Role")["PixelateRole"]["Properties"]["Policies"]
    assert "s3:DeleteObject" not in str(inline)  # only in the conditional policy


#: Actions IAM offers no resource-level permission for: the only ones allowed on Resource "*".
NO_RESOURCE_LEVEL_ACTIONS = {
    "xray:PutTraceSegments", "xray:PutTelemetryRecords",
    # Step Functions' log delivery to CloudWatch Logs (the backfill state machine's logging)
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
}


def test_iam_has_no_wildcard_actions_and_no_data_action_on_everything(tpl):
    statements = list(_policy_statements(tpl))
    assert statements
    for role, statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), (role, actions)
        if statement["Resource"] == "*":
            assert set(actions) <= NO_RESOURCE_LEVEL_ACTIONS, (role, statement)
    for resource in tpl["Resources"].values():
        assert "ManagedPolicyArns" not in resource.get("Properties", {})


def test_each_function_writes_only_its_own_log_group_with_retention(tpl):
    roles = {f["Properties"]["Role"]["Fn::GetAtt"][0]: f for f in resources_of_type(tpl, "AWS::Lambda::Function").values()}
    for role, statement in _policy_statements(tpl):
        if role in roles and any(a.startswith("logs:") for a in statement["Action"]):
            group = statement["Resource"]["Fn::GetAtt"][0]
            assert roles[role]["DependsOn"] == group
            assert tpl["Resources"][group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_buckets_are_private_and_tls_only(tpl):
    for name, bucket in resources_of_type(tpl, "AWS::S3::Bucket").items():
        block = bucket["Properties"]["PublicAccessBlockConfiguration"]
        assert all(block[k] is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"))
        assert bucket["Properties"]["BucketEncryption"]
    policies = {p["Properties"]["Bucket"]["Ref"]: p for p in resources_of_type(tpl, "AWS::S3::BucketPolicy").values()}
    assert set(policies) == set(resources_of_type(tpl, "AWS::S3::Bucket"))
    for policy in policies.values():
        first = policy["Properties"]["PolicyDocument"]["Statement"][0]
        assert first["Effect"] == "Deny" and first["Condition"]["Bool"]["aws:SecureTransport"] == "false"


def test_processed_bucket_admits_only_this_distribution_on_aws(tpl):
    statements = tpl["Resources"]["ProcessedBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    processed_arn = lambda resource, attribute: "arn:aws:s3:::processed"  # noqa: E731
    ctx = _ctx(tpl, Environment="aws", get_att=processed_arn)
    ctx.physical_ids["Distribution"] = "E123"
    resolved = resolve(statements, ctx)
    allow, = [s for s in resolved if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Condition"]["StringEquals"]["AWS:SourceArn"] == "arn:aws:cloudfront::123456789012:distribution/E123"
    local = _ctx(tpl, Environment="local", get_att=processed_arn)
    assert [s["Sid"] for s in resolve(statements, local)] == ["DenyInsecureTransport"]


def test_distribution_serves_the_page_processed_images_and_the_api(tpl):
    config = tpl["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}
    assert origins["site"]["OriginPath"] == "/site" and config["DefaultRootObject"] == "index.html"
    assert all("OriginAccessControlId" in origins[i] for i in ("site", "processed"))
    behaviours = {b["PathPattern"]: b["TargetOriginId"] for b in config["CacheBehaviors"]}
    # the same paths the local edge serves
    assert behaviours == {"pixelated/*": "processed", "status/*": "processed", "api/*": "api"}
    route = tpl["Resources"]["HttpApiRoute"]["Properties"]["RouteKey"]
    assert re.fullmatch(r"ANY /api/\{proxy\+\}", route)


def test_alarms_watch_the_dead_letter_queue_and_function_errors(tpl):
    alarms = resources_of_type(tpl, "AWS::CloudWatch::Alarm")
    metrics = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms.values()}
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in metrics
    assert ("AWS/Lambda", "Errors") in metrics
    body = tpl["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    for metric in ("ImagesDone", "ImagesFailed", "ProcessingMs", "InputMegapixels"):
        assert f'"Pixelator", "{metric}"' in body


def test_results_served_do_not_carry_the_original_etag_of_an_output_written_before_versions(tpl):
    """Outputs written until 2026-12-07 carry x-amz-meta-source-etag (a single-part upload's MD5), and CloudFront
    passes S3 user metadata on to viewers."""
    config = resources_of_type(tpl, "AWS::CloudFront::ResponseHeadersPolicy")["ResultsResponseHeadersPolicy"]
    removed = config["Properties"]["ResponseHeadersPolicyConfig"]["RemoveHeadersConfig"]["Items"]
    assert {"Header": "x-amz-meta-source-etag"} in removed
