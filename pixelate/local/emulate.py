"""What moto's CloudFormation ignores, applied through the S3/SQS/SNS APIs, read from the same template.

moto's CloudFormation creates the buckets (encryption only), queues (with redrive), topic, roles, log groups,
functions and the event source mapping, and silently ignores the rest. After the stack is created,
:func:`emulate` reads the template again, resolves it against the stack (parameters, physical ids) and:

- applies each bucket's ``NotificationConfiguration`` (``put_bucket_notification_configuration``: the
  originals bucket notifies the job queue), ``CorsConfiguration``, ``LifecycleConfiguration``,
  ``PublicAccessBlockConfiguration``, ``OwnershipControls`` and ``VersioningConfiguration`` with the S3 API;
- applies ``AWS::S3::BucketPolicy``, ``AWS::SQS::QueuePolicy`` and ``AWS::SNS::TopicPolicy`` documents
  (moto stores them; it does not enforce them);
- lists, with a reason, every resource it cannot or need not stand in for (CloudFront and API Gateway are
  replaced by the local edge of ``pixelate up``; the backfill state machine by ``pixelate backfill``, which
  sends the same messages itself; alarms and the dashboard do not exist locally).

It returns that list, as :class:`Emulated` records, so the notebook and ``pixelate deploy`` can show exactly
what runs for real, what is emulated and what is missing. The translations from CloudFormation's property
shapes to the API's are pure functions (``*_request``), tested on their own.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from pixelate.deploy.template import Context, resolve, resource_enabled

#: Status of a resource on the local target.
CREATED = "created by moto's CloudFormation"
EMULATED = "emulated through the API"
STOOD_IN = "stood in for by the local stack"
NOT_EMULATED = "not emulated"
LEFT_OUT = "left out by a template condition"

#: Resource types absent locally, and why.
_NOT_EMULATED = {
    "AWS::CloudWatch::Alarm": (NOT_EMULATED, "no alarms locally: failures show in status records, the dead-letter queue and the runner's log"),
    "AWS::SNS::Subscription": (NOT_EMULATED, "no e-mail is sent locally"),
}
_STOOD_IN = {
    "AWS::CloudFront::Distribution": "the local edge serves the page, /api/* and pixelated/* on one port",
    "AWS::CloudFront::OriginAccessControl": "the local edge reads the processed bucket itself",
    "AWS::ApiGatewayV2::Api": "the local edge routes /api/* to pixelate.service.api.lambda_handler (HTTP API v2 events)",
    "AWS::ApiGatewayV2::Integration": "the local edge calls the api handler in-process",
    "AWS::ApiGatewayV2::Route": "the local edge routes /api/*",
    "AWS::ApiGatewayV2::Stage": "no stage: no throttling or access log locally",
    "AWS::Lambda::Permission": "nothing to permit: the local edge calls the handler directly",
    # measured (moto 5.2): its CloudFormation creates the state machine from DefinitionString only, so the
    # Definition, its substitutions and the logging are dropped (an empty definition, logging OFF), and moto
    # runs no Distributed Map; the resource and its role stay on AWS only
    "AWS::StepFunctions::StateMachine": "moto would keep an empty definition and runs no Distributed Map: "
                                        "`pixelate backfill` lists the bucket and sends the same messages itself",
}
_CREATED_NOTES = {
    "AWS::IAM::Role": "role and inline policies stored; moto does not enforce IAM",
    "AWS::IAM::Policy": "policy stored and attached; moto does not enforce IAM",
    "AWS::SNS::Topic": "topic: done/failed notifications are published to it",
    "AWS::S3::Bucket": "bucket with its encryption",
    "AWS::CloudWatch::Dashboard": "stored; nothing draws it locally (the EMF metrics are in the runner's log lines)",
    "AWS::Lambda::EventSourceMapping": "stored: the local runner reads its batch size and response types",
    "AWS::SQS::Queue": "queue with its visibility timeout and redrive policy",
    "AWS::Logs::LogGroup": "stored with its retention",
}
_FUNCTION_NOTE = ("created as metadata only (handler, environment, event source mapping): the code is a "
                  "source-only zip that moto never runs; the local runner calls {handler} in-process")


@dataclass(frozen=True)
class Emulated:
    """One resource of the template on the local target: what became of it."""

    logical_id: str
    resource_type: str
    status: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


# ------------------------------------------------------------------ CloudFormation shapes -> API requests

def notification_request(config: Mapping) -> dict:
    """``NotificationConfiguration`` -> ``put_bucket_notification_configuration``'s ``NotificationConfiguration``."""
    def filter_of(item: Mapping) -> dict:
        rules = item.get("Filter", {}).get("S3Key", {}).get("Rules", [])
        return {"Filter": {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}} if rules else {}

    request: dict[str, Any] = {}
    for cfn_key, api_key, target_key, api_target in (
        ("QueueConfigurations", "QueueConfigurations", "Queue", "QueueArn"),
        ("TopicConfigurations", "TopicConfigurations", "Topic", "TopicArn"),
        ("LambdaConfigurations", "LambdaFunctionConfigurations", "Function", "LambdaFunctionArn"),
    ):
        items = config.get(cfn_key) or []
        if items:
            request[api_key] = [{api_target: i[target_key], "Events": [i["Event"]], **filter_of(i)} for i in items]
    if "EventBridgeConfiguration" in config:
        request["EventBridgeConfiguration"] = {}
    return request


def cors_request(config: Mapping) -> dict:
    """``CorsConfiguration`` -> ``put_bucket_cors``'s ``CORSConfiguration``."""
    renames = {"Id": "ID", "MaxAge": "MaxAgeSeconds", "ExposedHeaders": "ExposeHeaders"}
    return {"CORSRules": [{renames.get(k, k): v for k, v in rule.items()} for rule in config["CorsRules"]]}


def lifecycle_request(config: Mapping) -> dict:
    """``LifecycleConfiguration`` -> ``put_bucket_lifecycle_configuration``'s ``LifecycleConfiguration``."""
    rules = []
    for rule in config["Rules"]:
        api: dict[str, Any] = {"Status": rule["Status"]}
        if "Id" in rule:
            api["ID"] = rule["Id"]
        api["Filter"] = {"Prefix": rule.get("Prefix", "")}
        if "ExpirationInDays" in rule:
            api["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
        if "AbortIncompleteMultipartUpload" in rule:
            days = rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
            api["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": int(days)}
        if "NoncurrentVersionExpirationInDays" in rule:
            api["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(rule["NoncurrentVersionExpirationInDays"])}
        rules.append(api)
    return {"Rules": rules}


def _as_bools(config: Mapping) -> dict:
    return {k: v in (True, "true", "True") for k, v in config.items()}


def without_transport_statements(policy: Mapping) -> tuple[dict, list[str]]:
    """The policy without statements conditioned on ``aws:SecureTransport``, and the Sids left out.

    moto enforces S3 bucket policies, and the local stack speaks plain HTTP on 127.0.0.1: a "deny unless
    TLS" statement would deny every request there.
    """
    kept, dropped = [], []
    for statement in policy.get("Statement", []):
        if "aws:securetransport" in json.dumps(statement.get("Condition", {})).lower():
            dropped.append(statement.get("Sid", "a statement"))
        else:
            kept.append(statement)
    return {**policy, "Statement": kept}, dropped


def bucket_requests(properties: Mapping) -> list[tuple[str, str, dict]]:
    """(property, S3 operation, keyword arguments without ``Bucket``) for each ignored property a bucket has."""
    calls = []
    if "NotificationConfiguration" in properties:
        calls.append(("NotificationConfiguration", "put_bucket_notification_configuration",
                      {"NotificationConfiguration": notification_request(properties["NotificationConfiguration"])}))
    if "CorsConfiguration" in properties:
        calls.append(("CorsConfiguration", "put_bucket_cors",
                      {"CORSConfiguration": cors_request(properties["CorsConfiguration"])}))
    if "LifecycleConfiguration" in properties:
        calls.append(("LifecycleConfiguration", "put_bucket_lifecycle_configuration",
                      {"LifecycleConfiguration": lifecycle_request(properties["LifecycleConfiguration"])}))
    if "PublicAccessBlockConfiguration" in properties:
        calls.append(("PublicAccessBlockConfiguration", "put_public_access_block",
                      {"PublicAccessBlockConfiguration": _as_bools(properties["PublicAccessBlockConfiguration"])}))
    if "OwnershipControls" in properties:
        calls.append(("OwnershipControls", "put_bucket_ownership_controls",
                      {"OwnershipControls": {"Rules": list(properties["OwnershipControls"]["Rules"])}}))
    if "VersioningConfiguration" in properties:
        calls.append(("VersioningConfiguration", "put_bucket_versioning",
                      {"VersioningConfiguration": {"Status": properties["VersioningConfiguration"]["Status"]}}))
    return calls


# ------------------------------------------------------------------ resolving against the deployed stack

def stack_context(template: Mapping, parameters: Mapping[str, str], physical_ids: Mapping[str, str],
                  region: str, account_id: str, stack_name: str) -> Context:
    """A :class:`Context` whose ``GetAtt`` knows the attributes the emulated properties use."""
    resources = template["Resources"]

    def get_att(logical_id: str, attribute: str) -> Any:
        kind = resources[logical_id]["Type"]
        physical = physical_ids[logical_id]
        if kind == "AWS::S3::Bucket" and attribute == "Arn":
            return f"arn:aws:s3:::{physical}"
        if kind == "AWS::S3::Bucket" and attribute in ("DomainName", "RegionalDomainName"):
            return f"{physical}.s3.{region}.amazonaws.com"
        if kind == "AWS::SQS::Queue" and attribute == "Arn":
            return f"arn:aws:sqs:{region}:{account_id}:{physical.rstrip('/').rsplit('/', 1)[-1]}"
        if kind == "AWS::SQS::Queue" and attribute == "QueueName":
            return physical.rstrip("/").rsplit("/", 1)[-1]
        if kind == "AWS::SQS::Queue" and attribute == "QueueUrl":
            return physical
        if kind == "AWS::SNS::Topic" and attribute == "TopicArn":
            return physical
        if kind == "AWS::Logs::LogGroup" and attribute == "Arn":
            return f"arn:aws:logs:{region}:{account_id}:log-group:{physical}:*"
        raise KeyError(f"no local value for {logical_id}.{attribute}")

    pseudo = {"AWS::Region": region, "AWS::AccountId": account_id, "AWS::StackName": stack_name}
    return Context(template, parameters, physical_ids, pseudo, get_att)


# ------------------------------------------------------------------ applying

def emulate(template: Mapping, ctx: Context, s3, sqs, sns) -> list[Emulated]:
    """Apply what moto's CloudFormation ignored; return what became of every resource of the template."""
    report: list[Emulated] = []
    for logical_id, resource in template["Resources"].items():
        kind = resource["Type"]
        if not resource_enabled(template, logical_id, ctx):
            reason = _STOOD_IN.get(kind) or _NOT_EMULATED.get(kind, (None, "absent locally"))[1]
            status = STOOD_IN if kind in _STOOD_IN else LEFT_OUT
            report.append(Emulated(logical_id, kind, status, f"condition {resource['Condition']} is false: {reason}"))
            continue
        report.extend(_emulate_resource(logical_id, kind, resource.get("Properties", {}), ctx, s3, sqs, sns))
    return report


def _emulate_resource(logical_id: str, kind: str, properties: Mapping, ctx: Context, s3, sqs, sns) -> list[Emulated]:
    if kind == "AWS::S3::Bucket":
        bucket = ctx.physical_ids[logical_id]
        done = []
        for prop, operation, kwargs in bucket_requests(resolve(properties, ctx)):
            getattr(s3, operation)(Bucket=bucket, **kwargs)
            done.append(Emulated(logical_id, kind, EMULATED, f"{prop} applied with s3.{operation}"))
        done.append(Emulated(logical_id, kind, CREATED, _CREATED_NOTES[kind]))
        return done
    if kind == "AWS::S3::BucketPolicy":
        props = resolve(properties, ctx)
        policy, dropped = without_transport_statements(props["PolicyDocument"])
        note = f" ({', '.join(dropped)} left out: moto listens on plain HTTP and would deny every request)" if dropped else ""
        if not policy["Statement"]:
            return [Emulated(logical_id, kind, NOT_EMULATED, f"no statement applies locally{note}")]
        s3.put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(policy))
        return [Emulated(logical_id, kind, EMULATED, f"put_bucket_policy on {props['Bucket']}{note}")]
    if kind == "AWS::SQS::QueuePolicy":
        props = resolve(properties, ctx)
        for queue_url in props["Queues"]:
            sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})
        return [Emulated(logical_id, kind, EMULATED, "queue Policy attribute set (stored, not enforced by moto)")]
    if kind == "AWS::SNS::TopicPolicy":
        props = resolve(properties, ctx)
        for topic_arn in props["Topics"]:
            sns.set_topic_attributes(TopicArn=topic_arn, AttributeName="Policy",
                                     AttributeValue=json.dumps(props["PolicyDocument"]))
        return [Emulated(logical_id, kind, EMULATED, "topic Policy attribute set (stored, not enforced by moto)")]
    if kind == "AWS::Lambda::Function":
        return [Emulated(logical_id, kind, STOOD_IN, _FUNCTION_NOTE.format(handler=properties.get("Handler")))]
    if kind in _NOT_EMULATED:
        status, reason = _NOT_EMULATED[kind]
        return [Emulated(logical_id, kind, status, reason)]
    if kind in _STOOD_IN:
        return [Emulated(logical_id, kind, STOOD_IN, _STOOD_IN[kind])]
    return [Emulated(logical_id, kind, CREATED, _CREATED_NOTES.get(kind, ""))]


def report_table(report: list[Emulated]) -> str:
    """The report as aligned plain text, one resource (or applied property) a line."""
    rows = [("resource", "type", "status", "detail")] + [(e.logical_id, e.resource_type, e.status, e.detail) for e in report]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows)
