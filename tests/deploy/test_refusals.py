"""A refused or rolled-back deploy is said in one paragraph with what to do (pixelate.deploy.refusals, pure parts).

The events below have the shape ``describe_stack_events`` gives (newest first), for a real kind of rollback: an
account whose whole Lambda concurrency is 10 cannot reserve any for the api function.
"""
from __future__ import annotations

from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError, ProfileNotFound

from pixelate.deploy.refusals import describe_failures, explain, failures_in_events

STACK = "AWS::CloudFormation::Stack"
RESERVED = ("Resource handler returned message: \"Specified ReservedConcurrentExecutions for function decreases "
            "account's UnreservedConcurrentExecution below its minimum value of [10].\" (HandlerErrorCode: InvalidRequest)")

ROLLBACK_EVENTS = [  # newest first
    {"LogicalResourceId": "pixelator", "ResourceType": STACK, "ResourceStatus": "ROLLBACK_COMPLETE"},
    {"LogicalResourceId": "Distribution", "ResourceType": "AWS::CloudFront::Distribution", "ResourceStatus": "DELETE_COMPLETE"},
    {"LogicalResourceId": "pixelator", "ResourceType": STACK, "ResourceStatus": "ROLLBACK_IN_PROGRESS",
     "ResourceStatusReason": "The following resource(s) failed to create: [Distribution, ApiFunction]. Rollback requested by user."},
    {"LogicalResourceId": "Distribution", "ResourceType": "AWS::CloudFront::Distribution", "ResourceStatus": "CREATE_FAILED",
     "ResourceStatusReason": "Resource creation cancelled"},
    {"LogicalResourceId": "ApiFunction", "ResourceType": "AWS::Lambda::Function", "ResourceStatus": "CREATE_FAILED",
     "ResourceStatusReason": RESERVED},
    {"LogicalResourceId": "ApiFunction", "ResourceType": "AWS::Lambda::Function", "ResourceStatus": "CREATE_IN_PROGRESS"},
    {"LogicalResourceId": "pixelator", "ResourceType": STACK, "ResourceStatus": "CREATE_IN_PROGRESS",
     "ResourceStatusReason": "User Initiated"},
    # an earlier operation's failure: not this one's
    {"LogicalResourceId": "OldThing", "ResourceType": "AWS::SQS::Queue", "ResourceStatus": "UPDATE_FAILED",
     "ResourceStatusReason": "something long ago"},
]


def test_the_first_failure_is_named_with_its_reason_and_the_cancelled_ones_are_not():
    failures = failures_in_events(ROLLBACK_EVENTS)
    assert [(f.logical_id, f.status) for f in failures] == [("ApiFunction", "CREATE_FAILED")]
    text = describe_failures(failures)
    assert "ApiFunction (AWS::Lambda::Function) CREATE_FAILED" in text and "UnreservedConcurrentExecution" in text
    assert "ApiReservedConcurrency=0" in text  # what to do
    assert "OldThing" not in text


def test_cancelled_resources_are_named_when_nothing_else_failed():
    events = [e for e in ROLLBACK_EVENTS if e["LogicalResourceId"] != "ApiFunction"]
    assert [f.logical_id for f in failures_in_events(events)] == ["Distribution"]
    assert "name no failed resource" in describe_failures([])


def _client_error(code: str, message: str, operation: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       operation)


def test_every_refusal_is_one_paragraph_that_says_what_to_do():
    cases = {
        "access": (explain(_client_error("AccessDenied", "User: arn:aws:iam::1:user/me is not authorized to perform: "
                                         "cloudformation:CreateChangeSet", "CreateChangeSet", 403),
                           "pixelator", "eu-west-1", "me"), ["CreateChangeSet", "profile me may not", "Do:"]),
        "expired": (explain(_client_error("ExpiredToken", "The security token included in the request is expired",
                                          "GetCallerIdentity"), "pixelator", "eu-west-1", "sso"), ["aws sso login"]),
        "credentials": (explain(NoCredentialsError(), "pixelator", "eu-west-1"), ["No AWS credentials", "--profile"]),
        "region": (explain(NoRegionError()), ["--region", "AWS_REGION"]),
        "profile": (explain(ProfileNotFound(profile="nope"), profile="nope"), ["profile nope", "aws configure"]),
        "unknown code": (explain(_client_error("Weird", "odd", "DescribeStacks")), ["DescribeStacks", "Weird: odd", "Do:"]),
    }
    for name, (text, words) in cases.items():
        assert "\n" not in text and "Traceback" not in text, name
        for word in words:
            assert word in text, (name, word, text)


def test_a_refusal_by_an_endpoint_that_is_not_aws_says_so():
    error = _client_error("ValidationError", "Template error: instance of Fn::GetAtt references undefined resource "
                          "Distribution", "ExecuteChangeSet")
    text = explain(error, "pixelator", "us-east-1", endpoint="http://127.0.0.1:5000")
    assert "ExecuteChangeSet" in text and "http://127.0.0.1:5000, which is not AWS" in text and "\n" not in text
    assert "not AWS" not in explain(error, "pixelator", "us-east-1", endpoint="https://cloudformation.eu-west-1.amazonaws.com")
