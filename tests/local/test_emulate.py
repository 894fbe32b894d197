"""The translations from the template's bucket/queue settings to S3 API requests (pure functions)."""
from __future__ import annotations

from pixelate.deploy.template import load_template, parameter_defaults, resolve
from pixelate.local.emulate import (
    bucket_requests,
    cors_request,
    lifecycle_request,
    notification_request,
    stack_context,
    without_transport_statements,
)


def test_queue_notification_becomes_the_api_shape():
    config = {"QueueConfigurations": [
        {"Event": "s3:ObjectCreated:*", "Queue": "arn:aws:sqs:us-east-1:1:q"},
        {"Event": "s3:ObjectRemoved:*", "Queue": "arn:aws:sqs:us-east-1:1:r",
         "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "uploads/"}]}}},
    ]}
    assert notification_request(config) == {"QueueConfigurations": [
        {"QueueArn": "arn:aws:sqs:us-east-1:1:q", "Events": ["s3:ObjectCreated:*"]},
        {"QueueArn": "arn:aws:sqs:us-east-1:1:r", "Events": ["s3:ObjectRemoved:*"],
         "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}}},
    ]}


def test_cors_keys_are_renamed():
    rule = {"Id": "x", "AllowedMethods": ["POST"], "AllowedOrigins": ["*"], "ExposedHeaders": ["ETag"], "MaxAge": 60}
    assert cors_request({"CorsRules": [rule]}) == {"CORSRules": [
        {"ID": "x", "AllowedMethods": ["POST"], "AllowedOrigins": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 60}]}


def test_lifecycle_days_and_prefix():
    rules = {"Rules": [{"Id": "e", "Status": "Enabled", "ExpirationInDays": "7",
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
                       {"Status": "Enabled", "Prefix": "tmp/", "NoncurrentVersionExpirationInDays": 3}]}
    assert lifecycle_request(rules) == {"Rules": [
        {"ID": "e", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 7},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
        {"Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "NoncurrentVersionExpiration": {"NoncurrentDays": 3}},
    ]}


def test_transport_statements_are_left_out_locally_and_named():
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "Other", "Effect": "Allow"},
    ]}
    kept, dropped = without_transport_statements(policy)
    assert [s["Sid"] for s in kept["Statement"]] == ["Other"] and dropped == ["DenyInsecureTransport"]
    assert len(policy["Statement"]) == 2  # the template's copy is untouched


def test_the_originals_bucket_resolves_to_every_ignored_setting():
    tpl = load_template()
    params = {**parameter_defaults(tpl), "Environment": "local", "CodeBucket": "b", "CodeKey": "k"}
    ids = {"OriginalsBucket": "o", "JobQueue": "http://127.0.0.1:5000/123456789012/pixelator-JobQueue-X"}
    ctx = stack_context(tpl, params, ids, "us-east-1", "123456789012", "pixelator")
    calls = {op: kwargs for _, op, kwargs in bucket_requests(resolve(tpl["Resources"]["OriginalsBucket"]["Properties"], ctx))}
    assert calls["put_bucket_notification_configuration"]["NotificationConfiguration"]["QueueConfigurations"] == [
        {"QueueArn": "arn:aws:sqs:us-east-1:123456789012:pixelator-JobQueue-X", "Events": ["s3:ObjectCreated:*"]}]
    assert calls["put_bucket_cors"]["CORSConfiguration"]["CORSRules"][0]["AllowedOrigins"] == ["*"]
    assert calls["put_bucket_lifecycle_configuration"]["LifecycleConfiguration"]["Rules"][0]["Expiration"] == {"Days": 7}
    assert set(calls["put_public_access_block"]["PublicAccessBlockConfiguration"].values()) == {True}
