"""AWS refusals of a deploy, said in one paragraph with what to do: never a traceback to read.

    >>> from pixelate.deploy.refusals import explain
    >>> explain(error, stack_name="pixelator", region="eu-west-1", profile="me")
    'AWS refused CreateChangeSet (AccessDenied: ...): the credentials of profile me may not ... Do: ...'

:func:`explain` takes any exception a deploy meets on the way to AWS (botocore's ``ClientError``,
``NoCredentialsError``, ``NoRegionError``, ``ProfileNotFound``, ``EndpointConnectionError`` …, and
``WaiterError``) and says what happened and what to do. :func:`failed_resources` reads a stack's events for the
resources that failed in its latest operation (the first ones are the cause; the rest were cancelled because of
them), and :func:`describe_failures` turns them into lines: what a rollback report says beside its status.
"""
from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    WaiterError,
)

#: How many failed resources a report names.
SHOWN_FAILURES = 5

#: What to do, by the error code AWS answered with.
_ADVICE_BY_CODE = {
    "AccessDenied": "use credentials allowed to create this stack's resources (CloudFormation, IAM roles, S3, SQS, "
                    "SNS, Lambda, API Gateway, CloudFront, CloudWatch), or ask the account's administrator for them",
    "ExpiredToken": "the session has expired: sign in again (`aws sso login --profile NAME`, or new temporary "
                    "credentials) and run the deploy again",
    "InvalidClientTokenId": "the access key is not known to AWS: check the profile's credentials (`aws sts "
                            "get-caller-identity`)",
    "SignatureDoesNotMatch": "the secret key does not match the access key: check the profile's credentials",
    "ValidationError": "the template or a parameter was refused as the message says: fix it (`make lint` checks "
                       "the template) and deploy again",
    "InsufficientCapabilitiesException": "the stack creates IAM roles: the deploy passes CAPABILITY_IAM, so this "
                                         "comes from a changed template needing CAPABILITY_NAMED_IAM",
    "LimitExceededException": "an account quota is reached: raise it in Service Quotas, or delete unused stacks",
    "Throttling": "AWS is throttling this account's calls: wait a minute and deploy again",
    "InvalidChangeSetStatus": "the change set cannot be executed: it failed, or the stack is busy with another "
                              "operation; wait for the stack to settle (`aws cloudformation describe-stacks`)",
    "OperationInProgressException": "another operation on this stack is running: wait for it to finish",
    "NotImplemented": "this endpoint does not implement every resource of the template (moto's server, for one, "
                      "refuses CloudFront): deploy to AWS itself, or to the local target (`--target local`)",
}
_ADVICE_BY_CODE["AccessDeniedException"] = _ADVICE_BY_CODE["UnauthorizedOperation"] = _ADVICE_BY_CODE["AccessDenied"]
_ADVICE_BY_CODE["ExpiredTokenException"] = _ADVICE_BY_CODE["RequestExpired"] = _ADVICE_BY_CODE["ExpiredToken"]
_ADVICE_BY_CODE["UnrecognizedClientException"] = _ADVICE_BY_CODE["InvalidClientTokenId"]
_ADVICE_BY_CODE["ThrottlingException"] = _ADVICE_BY_CODE["Throttling"]

#: Advice for the reasons a resource most often fails with, by a phrase of its ResourceStatusReason.
_ADVICE_BY_REASON = {
    "UnreservedConcurrentExecution": "the account's Lambda concurrency is too small to reserve any for the api "
                                     "function: deploy with --parameter ApiReservedConcurrency=0, or ask AWS for a "
                                     "higher limit",
    "already exists": "a resource of that name exists outside this stack (a bucket, log group or policy of an "
                      "earlier stack of the same name): delete it, or deploy under another --stack-name",
    "not authorized": _ADVICE_BY_CODE["AccessDenied"],
    "AccessDenied": _ADVICE_BY_CODE["AccessDenied"],
    "must verify": "the account must be verified for CloudFront before it can create distributions: contact AWS "
                   "Support",
}


@dataclass(frozen=True)
class FailedResource:
    """One resource that failed in a stack operation, as the stack's events tell it."""

    logical_id: str
    resource_type: str
    status: str
    reason: str

    def line(self) -> str:
        return f"{self.logical_id} ({self.resource_type}) {self.status}: {self.reason or 'no reason given'}"


def failed_resources(cfn, stack_name: str, limit: int = SHOWN_FAILURES) -> list[FailedResource]:
    """The resources that failed in the stack's latest operation (:func:`failures_in_events` of its events).
    Reading the events may itself fail (the stack may be gone): then nothing is returned."""
    events = []
    try:
        for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack_name):
            events += page.get("StackEvents", [])
            if any(_starts_operation(e) for e in page.get("StackEvents", [])):
                break  # the latest operation is all in
    except (ClientError, BotoCoreError):
        return []
    return failures_in_events(events, limit)


def _starts_operation(event: dict) -> bool:
    return event.get("ResourceType") == "AWS::CloudFormation::Stack" and event.get("ResourceStatusReason") == "User Initiated"


def failures_in_events(events: list[dict], limit: int = SHOWN_FAILURES) -> list[FailedResource]:
    """From ``describe_stack_events``'s ``StackEvents`` (newest first), the resources that failed in the latest
    operation, first failure first; those "cancelled" because another failed only when nothing else did."""
    latest = []
    for event in events:
        if _starts_operation(event):
            break
        latest.append(event)
    failed = [
        FailedResource(e.get("LogicalResourceId", "?"), e.get("ResourceType", "?"), e.get("ResourceStatus", "?"),
                       (e.get("ResourceStatusReason") or "").strip())
        for e in reversed(latest)  # oldest first: the cause before its consequences
        if str(e.get("ResourceStatus", "")).endswith("_FAILED") and e.get("ResourceType") != "AWS::CloudFormation::Stack"
    ]
    causes = [f for f in failed if "cancelled" not in f.reason.lower()]
    return (causes or failed)[:limit]


def describe_failures(failures: list[FailedResource]) -> str:
    """Lines naming each failed resource with its reason, and what to do about the first one we know of."""
    if not failures:
        return "The stack's events name no failed resource (see the CloudFormation console's Events tab)."
    lines = ["Failed resources, first failure first:"] + [f"  - {f.line()}" for f in failures]
    advice = next((a for f in failures for phrase, a in _ADVICE_BY_REASON.items() if phrase in f.reason), None)
    if advice:
        lines.append(f"Do: {advice}.")
    return "\n".join(lines)


def explain(error: BaseException, stack_name: str = "", region: str | None = None, profile: str | None = None,
            endpoint: str | None = None) -> str:
    """One paragraph: what AWS (or the SDK, before reaching AWS) refused, and what to do. ``endpoint``: where the
    calls went when that is not AWS (``AWS_ENDPOINT_URL``), which is then said too."""
    text = _explain(error, stack_name, region, profile)
    if endpoint and ".amazonaws.com" not in endpoint:
        text += (f" Note: the calls went to {endpoint}, which is not AWS and may not implement every resource of "
                 f"the template (moto's server has no CloudFront): for a stack on this machine use the local target.")
    return text


def _explain(error: BaseException, stack_name: str, region: str | None, profile: str | None) -> str:
    who = f"profile {profile}" if profile else "the default credentials (environment, ~/.aws, or an instance role)"
    if isinstance(error, ProfileNotFound):
        return (f"The AWS profile {profile or ''} is not configured on this machine ({error}). Do: pick a profile "
                f"that `aws configure list-profiles` shows, or create it with `aws configure --profile NAME` "
                f"(or `aws configure sso`).")
    if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
        return (f"No AWS credentials were found for {who} ({error}). Do: pass --profile NAME, or set AWS_PROFILE, "
                f"or run `aws configure` (`aws sso login --profile NAME` for SSO), then deploy again.")
    if isinstance(error, NoRegionError):
        return ("No AWS region was given. Do: pass --region (for example eu-west-1), or set AWS_REGION, or give "
                "the profile a region (`aws configure set region eu-west-1 --profile NAME`).")
    if isinstance(error, EndpointConnectionError):
        return (f"AWS could not be reached ({error}). Do: check the network and the region name "
                f"({region or 'none given'}), then deploy again.")
    if isinstance(error, WaiterError):
        reason = (error.last_response or {}).get("Error", {}).get("Message") if isinstance(error.last_response, dict) else None
        return (f"Waiting for stack {stack_name} stopped: {reason or error}. Do: look at the stack's events "
                f"(`aws cloudformation describe-stack-events --stack-name {stack_name}`) and deploy again once "
                f"the cause is fixed.")
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = str(details.get("Code") or "")
        message = str(details.get("Message") or "").strip() or "no message"
        operation = getattr(error, "operation_name", "") or "a call"
        advice = _ADVICE_BY_CODE.get(code)
        if advice is None and error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 403:
            advice = _ADVICE_BY_CODE["AccessDenied"]
        advice = advice or "read the message above: it is AWS's own account of what it refused; fix that and deploy again"
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            advice = f"{who} may not do this: {advice}"
        return (f"AWS refused {operation} for stack {stack_name or '(none)'} in {region or 'the default region'} "
                f"({code or 'no code'}: {message}). Do: {advice}.")
    if isinstance(error, BotoCoreError):
        return f"The AWS SDK stopped before reaching AWS ({type(error).__name__}: {error}). Do: fix what it names and deploy again."
    return f"The deploy stopped ({type(error).__name__}: {error})."
