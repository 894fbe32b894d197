"""Deploy and destroy the stack of ``cloudformation.yaml`` on AWS, and the CloudFormation steps both targets share.

The functions other parts call:

``deploy_aws(stack_name="pixelator", region=None, profile=None, parameters=None, build_dir="build/lambda") -> dict``
    Build the Lambda package for the template's ``Runtime`` and ``Architecture``, upload it
    (content-addressed key), create or update the stack through a change set with waiters, and upload the
    page (``pixelate/web/*``) to ``site/`` in the processed bucket, which CloudFront serves at ``/``.
    Returns the outputs plus ``Region``.
``destroy_aws(stack_name="pixelator", region=None, profile=None) -> None``
    Empty the buckets (all versions), delete the stack, then the artifacts bucket.
``create_or_update_stack`` / ``deploy_change_set`` / ``delete_stack``
    The stack itself, directly (the local target: moto's change sets compute no outputs) or through a
    change set (AWS), with waiters.

The local target (moto's server, and what its CloudFormation ignores) is ``pixelate.local.target``, which
builds on these. ``parameters`` are template parameters by name (``{"DefaultPixelSize": 32}``);
``CodeBucket``, ``CodeKey`` and ``Environment`` are set by the deploy functions.
"""
from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError, WaiterError

from pixelate.deploy.package import PackageSpec, build_package, sha256_of
from pixelate.deploy.refusals import describe_failures, explain, failed_resources
from pixelate.deploy.stackfile import LOCAL_CREDENTIALS
from pixelate.deploy.template import load_template, parameter_defaults, template_text
from pixelate.service.aws import is_not_found

#: CloudFormation takes a template body up to this size; above it, the template goes by S3 URL.
MAX_TEMPLATE_BODY = 51_200
CAPABILITIES = ["CAPABILITY_IAM"]
WEB_DIR = Path(__file__).resolve().parent.parent / "web"
SITE_PREFIX = "site/"


class DeployError(RuntimeError):
    """The stack could not be deployed or destroyed; the message says why, and what to do."""


@contextmanager
def aws_refusals(stack_name: str = "", region: str | None = None, profile: str | None = None,
                 endpoint: str | None = None) -> Iterator[None]:
    """Turn any refusal on the way to AWS (botocore's ClientError, NoCredentialsError, NoRegionError, WaiterError
    …) into a :class:`DeployError` whose message says, in one paragraph, what happened and what to do.
    ``endpoint``: where the calls go when not to AWS (default: ``AWS_ENDPOINT_URL``, as botocore reads it)."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL_CLOUDFORMATION") or os.environ.get("AWS_ENDPOINT_URL")
        raise DeployError(explain(error, stack_name, region, profile, endpoint)) from error


# ------------------------------------------------------------------ pure helpers

def stack_parameters(template: Mapping, values: Mapping[str, Any]) -> list[dict[str, str]]:
    """CloudFormation's ``Parameters`` list for ``values`` (names checked against the template)."""
    known = template.get("Parameters", {})
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise DeployError(f"unknown template parameters: {', '.join(unknown)} (known: {', '.join(known)})")
    return [{"ParameterKey": k, "ParameterValue": _parameter_text(v)} for k, v in values.items()]


def keep_previous_values(template: Mapping, parameters: list[dict], stack: Mapping | None) -> list[dict]:
    """On an update, parameters this deploy does not set keep the stack's current values instead of falling
    back to the defaults: a deploy without ``NotificationEmail`` must not drop the subscription, nor a
    ``pixelate deploy`` to the running local stack forget its edge URL. The values are passed as read
    (not ``UsePreviousValue``, which moto's update_stack fails on; the template has no NoEcho parameter)."""
    if not stack:
        return parameters
    given = {p["ParameterKey"] for p in parameters}
    known, defaults = template.get("Parameters", {}), parameter_defaults(template)
    # a previous value equal to the default needs no mention (and keeps moto's "no change" check exact)
    return parameters + [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters_of(stack).items()
                         if k not in given and k in known and v != defaults.get(k)]


def parameters_of(stack: Mapping) -> dict[str, str]:
    """A described stack's parameter values by name."""
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters") or []}


def _parameter_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def effective_parameters(template: Mapping, values: Mapping[str, Any]) -> dict[str, str]:
    """Every parameter's value as the stack sees it: the template's defaults, overridden by ``values``."""
    return {**parameter_defaults(template), **{k: _parameter_text(v) for k, v in values.items()}}


def check_parameters(stack_name: str, effective: Mapping[str, str], account_id: str = "123456789012",
                     region: str = "us-east-1") -> None:
    """Refuse, before anything is built or sent, values CloudFormation would accept and AWS then refuse halfway
    through (the stack rolls back): a job queue whose visibility timeout is shorter than the function's timeout
    (the SQS event source is refused), and a stack name that makes the buckets' names invalid (S3: at most 63
    characters, lowercase letters, digits and hyphens)."""
    timeout, visibility = int(effective["FunctionTimeout"]), int(effective["QueueVisibilityTimeout"])
    if visibility < timeout:
        raise DeployError(f"QueueVisibilityTimeout ({visibility} s) must be at least FunctionTimeout ({timeout} s), "
                          f"or AWS refuses the queue as the function's event source; AWS advises 6x: {6 * timeout}.")
    longest = f"{stack_name}-processed-{account_id}-{region}"
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", stack_name) or len(longest) > 63:
        raise DeployError(f"the stack name {stack_name!r} makes bucket names such as {longest!r}, which S3 refuses: "
                          f"use lowercase letters, digits and hyphens, at most {63 - len(longest) + len(stack_name)} "
                          "characters here.")


def code_key(zip_path: Path) -> str:
    """A content-addressed key: a new build changes the key, so CloudFormation updates the functions."""
    return code_key_of_digest(sha256_of(Path(zip_path)))


def code_key_of_digest(sha256: str) -> str:
    return f"lambda/pixelate-{sha256[:16]}.zip"


def artifacts_bucket_name(stack_name: str, account_id: str, region: str) -> str:
    return f"{stack_name}-artifacts-{account_id}-{region}".lower()


def outputs_of(stack: Mapping) -> dict[str, str]:
    """A described stack's outputs by name. ``DistributionUrl``/``ApiUrl`` may be absent (local target)."""
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}


def is_no_change(reason: str) -> bool:
    return "didn't contain changes" in reason or "No updates are to be performed" in reason


# ------------------------------------------------------------------ sessions and buckets

def local_session(region: str = "us-east-1") -> boto3.Session:
    return boto3.Session(region_name=region, **LOCAL_CREDENTIALS)


def aws_session(region: str | None = None, profile: str | None = None) -> boto3.Session:
    session = boto3.Session(profile_name=profile, region_name=region)
    if not session.region_name:
        raise DeployError(explain(NoRegionError()))
    return session


def ensure_private_bucket(s3, name: str, region: str) -> None:
    """Create ``name`` if it does not exist: private, encrypted (the code and template go there)."""
    try:
        s3.head_bucket(Bucket=name)
        return
    except ClientError as error:
        if not is_not_found(error):
            raise
    create = {"Bucket": name}
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**create)
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})


def upload_if_missing(s3, bucket: str, key: str, path: Path) -> None:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if not is_not_found(error):
            raise
        s3.upload_file(str(path), bucket, key)


def empty_bucket(s3, bucket: str) -> int:
    """Delete every object version and delete marker (a bucket must be empty to be deleted)."""
    deleted = 0
    try:
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
        for page in pages:
            keys = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            for start in range(0, len(keys), 1000):
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys[start:start + 1000], "Quiet": True})
                deleted += len(keys[start:start + 1000])
    except ClientError as error:
        if not is_not_found(error):
            raise
    return deleted


def delete_bucket(s3, bucket: str) -> None:
    empty_bucket(s3, bucket)
    try:
        s3.delete_bucket(Bucket=bucket)
    except ClientError as error:
        if not is_not_found(error):
            raise


# ------------------------------------------------------------------ the stack

def describe_stack(cfn, stack_name: str) -> dict | None:
    try:
        return cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise


def physical_ids(cfn, stack_name: str) -> dict[str, str]:
    resources = cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
    # moto lists the resource types it ignores without ids: they have no physical counterpart
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources if r.get("LogicalResourceId")}


def _wait(cfn, waiter: str, delay: int, **kwargs) -> None:
    try:
        cfn.get_waiter(waiter).wait(WaiterConfig={"Delay": delay, "MaxAttempts": 720}, **kwargs)
    except WaiterError as error:
        name = kwargs.get("StackName", "")
        raise DeployError(failure_report(cfn, name, waiter)) from error


def failure_report(cfn, stack_name: str, waited_for: str = "the stack operation") -> str:
    """What a failed or rolled-back operation did: the stack's status and reason, then its first failed resources
    with their ``ResourceStatusReason`` (from the stack's events) and what to do."""
    try:
        stack = describe_stack(cfn, stack_name) if stack_name else None
    except (ClientError, BotoCoreError):
        stack = None
    status = stack.get("StackStatus", "?") if stack else "gone (deleted, or never created)"
    reason = f" ({stack['StackStatusReason']})" if stack and stack.get("StackStatusReason") else ""
    return (f"Stack {stack_name}: {waited_for} did not complete; the stack is {status}{reason}.\n"
            + describe_failures(failed_resources(cfn, stack_name)))


def _delete_failed_first_attempt(cfn, stack_name: str, delay: int) -> dict | None:
    """A stack whose creation rolled back cannot be updated: delete it so it can be created again."""
    stack = describe_stack(cfn, stack_name)
    if stack and stack["StackStatus"] in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "REVIEW_IN_PROGRESS"):
        cfn.delete_stack(StackName=stack_name)
        _wait(cfn, "stack_delete_complete", delay, StackName=stack_name)
        return None
    return stack


def create_or_update_stack(cfn, stack_name: str, template: Mapping[str, str], parameters: list[dict],
                           delay: int = 1, parsed: Mapping | None = None) -> str:
    """Create or update directly (``create_stack``/``update_stack``): the local target's way, because moto's
    change sets do not compute outputs. Returns ``created``, ``updated`` or ``unchanged``."""
    stack = _delete_failed_first_attempt(cfn, stack_name, delay)
    parameters = keep_previous_values(parsed or load_template(), parameters, stack)
    request = {"StackName": stack_name, "Parameters": parameters, "Capabilities": CAPABILITIES, **template}
    if stack is None:
        cfn.create_stack(**request)
        _wait(cfn, "stack_create_complete", delay, StackName=stack_name)
        return "created"
    try:
        cfn.update_stack(**request)
    except ClientError as error:
        if is_no_change(str(error)):
            return "unchanged"
        raise
    _wait(cfn, "stack_update_complete", delay, StackName=stack_name)
    return "updated"


def deploy_change_set(cfn, stack_name: str, template: Mapping[str, str], parameters: list[dict],
                      delay: int = 5, parsed: Mapping | None = None) -> str:
    """Create or update through a change set, with waiters (the AWS way: a reviewable, atomic step).
    Returns ``created``, ``updated`` or ``unchanged``."""
    stack = _delete_failed_first_attempt(cfn, stack_name, delay)
    parameters = keep_previous_values(parsed or load_template(), parameters, stack)
    change_set_type = "CREATE" if stack is None else "UPDATE"
    name = f"pixelate-{hashlib.sha256(json.dumps([template, parameters], sort_keys=True).encode()).hexdigest()[:12]}"
    if stack is not None:
        leftovers = cfn.list_change_sets(StackName=stack_name).get("Summaries", [])
        if any(s["ChangeSetName"] == name for s in leftovers):  # from an interrupted run
            cfn.delete_change_set(StackName=stack_name, ChangeSetName=name)
    try:
        cfn.create_change_set(StackName=stack_name, ChangeSetName=name, ChangeSetType=change_set_type,
                              Parameters=parameters, Capabilities=CAPABILITIES, **template)
    except ClientError as error:
        if is_no_change(str(error)):  # moto says so at once; AWS through a FAILED change set (below)
            return "unchanged"
        raise
    try:
        cfn.get_waiter("change_set_create_complete").wait(
            StackName=stack_name, ChangeSetName=name, WaiterConfig={"Delay": delay, "MaxAttempts": 120})
    except WaiterError as error:
        described = cfn.describe_change_set(StackName=stack_name, ChangeSetName=name)
        reason = described.get("StatusReason", "")
        if is_no_change(reason):
            cfn.delete_change_set(StackName=stack_name, ChangeSetName=name)
            return "unchanged"
        raise DeployError(f"change set {name} failed: {reason or error}") from error
    cfn.execute_change_set(StackName=stack_name, ChangeSetName=name)
    waiter = "stack_create_complete" if change_set_type == "CREATE" else "stack_update_complete"
    _wait(cfn, waiter, delay, StackName=stack_name)
    return "created" if change_set_type == "CREATE" else "updated"


def delete_stack(cfn, s3, stack_name: str, delay: int) -> None:
    """Empty the stack's buckets (CloudFormation cannot delete a bucket with objects), then delete it."""
    if describe_stack(cfn, stack_name) is None:
        return
    for resource in cfn.describe_stack_resources(StackName=stack_name)["StackResources"]:
        if resource.get("ResourceType") == "AWS::S3::Bucket" and resource.get("PhysicalResourceId"):
            empty_bucket(s3, resource["PhysicalResourceId"])
    cfn.delete_stack(StackName=stack_name)
    _wait(cfn, "stack_delete_complete", delay, StackName=stack_name)


def template_argument(s3, bucket: str, region: str, body: str) -> dict[str, str]:
    """``TemplateBody`` when it fits, else ``TemplateURL`` of a copy uploaded next to the code."""
    if len(body.encode()) <= MAX_TEMPLATE_BODY:
        return {"TemplateBody": body}
    key = f"templates/cloudformation-{hashlib.sha256(body.encode()).hexdigest()[:16]}.yaml"
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode())
    return {"TemplateURL": f"https://{bucket}.s3.{region}.amazonaws.com/{key}"}


# ------------------------------------------------------------------ AWS target

def upload_site(s3, bucket: str, web_dir: Path = WEB_DIR) -> list[str]:
    """Upload the page (``pixelate/web/*``) to ``site/`` in the processed bucket, CloudFront's default origin."""
    uploaded = []
    if not web_dir.is_dir():
        return uploaded
    for path in sorted(p for p in web_dir.rglob("*") if p.is_file()):
        key = SITE_PREFIX + path.relative_to(web_dir).as_posix()
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        # the page is several modules that must match: the browser revalidates each (an ETag: cheap) rather than
        # mixing old and new files for minutes after a deploy
        cache = "no-cache" if path.suffix in (".html", ".js", ".css") else "max-age=300"
        s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type, "CacheControl": cache})
        uploaded.append(key)
    return uploaded


def deploy_aws(stack_name: str = "pixelator", region: str | None = None, profile: str | None = None,
               parameters: Mapping[str, Any] | None = None, build_dir: str | Path = "build/lambda",
               template_file: str | Path | None = None) -> dict:
    """Deploy to AWS (see the module docstring). Needs credentials allowed to create the stack's resources.
    Every refusal comes out as a :class:`DeployError` that says what to do."""
    with aws_refusals(stack_name, region, profile):
        return _deploy_aws(stack_name, region, profile, parameters, build_dir, template_file)


def _deploy_aws(stack_name: str, region: str | None, profile: str | None, parameters: Mapping[str, Any] | None,
                build_dir: str | Path, template_file: str | Path | None) -> dict:
    session = aws_session(region, profile)
    region = session.region_name
    cfn, s3 = session.client("cloudformation"), session.client("s3")
    template = load_template(template_file)
    values = dict(parameters or {})
    # an update keeps the stack's runtime and architecture unless told otherwise: build for those
    previous = parameters_of(describe_stack(cfn, stack_name) or {})
    effective = effective_parameters(template, {**previous, **values})
    account_id = session.client("sts").get_caller_identity()["Account"]
    check_parameters(stack_name, effective, account_id, region)
    report = build_package(PackageSpec.from_template_parameters(effective["Runtime"], effective["Architecture"]),
                           build_dir)
    if not report.ok:
        raise DeployError("the Lambda package does not fit its target:\n" + report.summary())
    bucket = artifacts_bucket_name(stack_name, account_id, region)
    ensure_private_bucket(s3, bucket, region)
    key = code_key_of_digest(report.sha256)  # the build hashed the zip already
    upload_if_missing(s3, bucket, key, report.zip_path)
    values.update({"Environment": "aws", "CodeBucket": bucket, "CodeKey": key})
    body = template_text(template_file)
    action = deploy_change_set(cfn, stack_name, template_argument(s3, bucket, region, body),
                               stack_parameters(template, values), parsed=template)
    outputs = outputs_of(describe_stack(cfn, stack_name))
    site = upload_site(s3, outputs["ProcessedBucket"])
    if site and action != "created":
        _invalidate(session, cfn, stack_name)
    return {**outputs, "Region": region, "StackAction": action, "Package": report.summary()}


def _invalidate(session, cfn, stack_name: str) -> None:
    distribution = physical_ids(cfn, stack_name).get("Distribution")
    if distribution:
        # the page's files are cached at the edge for up to 5 minutes (index.html not at all): a new deploy
        # should show at once
        session.client("cloudfront").create_invalidation(DistributionId=distribution, InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": f"pixelate-deploy-{time.time_ns()}"})


def destroy_aws(stack_name: str = "pixelator", region: str | None = None, profile: str | None = None) -> None:
    with aws_refusals(stack_name, region, profile):
        session = aws_session(region, profile)
        cfn, s3 = session.client("cloudformation"), session.client("s3")
        delete_stack(cfn, s3, stack_name, delay=10)
        account_id = session.client("sts").get_caller_identity()["Account"]
        delete_bucket(s3, artifacts_bucket_name(stack_name, account_id, session.region_name))


