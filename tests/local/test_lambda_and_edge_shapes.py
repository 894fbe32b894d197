"""The local stack's pure parts: the SQS event and batch answer as Lambda shapes them, the HTTP API event and
response as API Gateway shapes them, the edge's static files, and the fault injector on a real client."""
from __future__ import annotations

import base64
import hashlib
import json

import boto3
import pytest
from botocore.exceptions import ClientError

from pixelate.local import edge, faults, lambda_sim, worker
from pixelate.local import settings as poller
from pixelate.service.aws import CLIENT_CONFIG  # the handler's own retry settings


def sqs_message(message_id: str, body: str, receive_count: int = 1) -> dict:
    return {
        "MessageId": message_id,
        "ReceiptHandle": f"handle-{message_id}",
        "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "Body": body,
        "Attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": "1700000000000"},
        "MessageAttributes": {"origin": {"StringValue": "test", "DataType": "String"}},
    }


def s3_event_body(bucket: str, key: str) -> str:
    record = {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}
    return json.dumps({"Records": [record]})


def test_sqs_event_has_the_shape_lambda_delivers():
    body = s3_event_body("originals", "a+b%2Fc.jpg")
    event = lambda_sim.sqs_event([sqs_message("m1", body, 2)], "arn:aws:sqs:us-east-1:123456789012:jobs", "us-east-1")
    (record,) = event["Records"]
    assert record == {
        "messageId": "m1",
        "receiptHandle": "handle-m1",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1700000000000"},
        "messageAttributes": {"origin": {"stringValue": "test", "binaryValue": None, "stringListValues": [],
                                         "binaryListValues": [], "dataType": "String"}},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:jobs",
        "awsRegion": "us-east-1",
    }


@pytest.mark.parametrize(
    ("response", "reporting", "failed"),
    [
        ({"batchItemFailures": []}, True, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, True, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, True, {"a", "b"}),  # unknown id: whole batch
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, True, {"a", "b"}),  # empty id: whole batch
        ("nonsense", True, {"a", "b"}),
        (None, True, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, False, set()),  # not reporting: a return is success
    ],
)
def test_failed_message_ids_follow_lambda_rules(response, reporting, failed):
    assert lambda_sim.failed_message_ids(response, ["a", "b"], reporting) == failed


def test_reported_jobs_decode_keys_and_skip_test_events():
    # the worker reads a message's objects as the handler does (pixelate.service.events)
    def jobs(body: str) -> list[tuple[str, str, int]]:
        return worker.jobs_of([sqs_message("m", body, 2)])

    assert jobs(s3_event_body("b", "deep/dir/a+b%2B%C3%BC.jpg")) == [("b", "deep/dir/a b+ü.jpg", 2)]
    assert jobs(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})) == []
    assert jobs("not json") == []


def test_queue_settings_come_from_the_mapping_and_the_queue():
    attributes = {
        "QueueArn": "arn:q",
        "VisibilityTimeout": "45",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": "arn:dlq", "maxReceiveCount": 4}),
    }
    mapping = {"UUID": "u", "BatchSize": 7, "FunctionResponseTypes": ["ReportBatchItemFailures"],
               "ScalingConfig": {"MaximumConcurrency": 3}}
    settings = poller.queue_settings("url", attributes, mapping)
    assert (settings.batch_size, settings.visibility_timeout_s, settings.max_receive_count, settings.dead_letter_arn) == (7, 45, 4, "arn:dlq")
    assert settings.report_batch_item_failures
    runner_settings = poller.RunnerSettings("http://e", "us-east-1", None, settings)
    assert [poller.worker_count(n, runner_settings) for n in (1, 3, 8)] == [1, 3, 3]  # MaximumConcurrency caps workers


def test_environment_values_become_strings():
    configuration = {"Environment": {"Variables": {"A": "x", "B": 16, "C": True}}}
    assert lambda_sim.environment_of(configuration) == {"A": "x", "B": "16", "C": "true"}


def test_http_api_event_is_payload_format_2():
    event = edge.http_api_event(
        "POST", "/api/uploads", "a=1&a=2&b=",
        {"Content-Type": "application/json", "Cookie": "x=1; y=2", "User-Agent": "ua"}, b'{"k": 1}',
    )
    assert event["version"] == "2.0" and event["rawPath"] == "/api/uploads"
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "ANY /api/{proxy+}"  # the template's route
    assert event["pathParameters"] == {"proxy": "uploads"}
    assert event["rawQueryString"] == "a=1&a=2&b="
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["headers"] == {"content-type": "application/json", "user-agent": "ua"}
    assert event["cookies"] == ["x=1", "y=2"]
    assert event["requestContext"]["http"] == {"method": "POST", "path": "/api/uploads", "protocol": "HTTP/1.1",
                                               "sourceIp": "127.0.0.1", "userAgent": "ua"}
    assert (event["body"], event["isBase64Encoded"]) == ('{"k": 1}', False)


def test_binary_bodies_arrive_base64_encoded():
    event = edge.http_api_event("POST", "/api/pixelate", "", {"Content-Type": "image/png"}, b"\x89PNG\x00")
    assert event["isBase64Encoded"] and base64.b64decode(event["body"]) == b"\x89PNG\x00"


def test_http_api_response_rules():
    assert edge.http_api_response({"statusCode": 201, "headers": {"X-A": "1"}, "body": "{}"}) == (
        201, [("X-A", "1"), ("Content-Type", "application/json")], b"{}")
    status, headers, body = edge.http_api_response(
        {"statusCode": 200, "headers": {"Content-Type": "image/png"}, "body": base64.b64encode(b"\x00").decode(),
         "isBase64Encoded": True, "cookies": ["s=1"]})
    assert (status, body, ("Set-Cookie", "s=1") in headers) == (200, b"\x00", True)
    assert edge.http_api_response({"hello": "world"}) == (200, [("Content-Type", "application/json")], b'{"hello": "world"}')


def test_static_files_stay_inside_the_web_folder(tmp_path):
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "index.html").write_text("page")
    (tmp_path / "secret.txt").write_text("secret")
    web = str(tmp_path / "web")
    assert edge.static_file(web, "/") == (tmp_path / "web" / "index.html").resolve()
    assert edge.static_file(web, "/../secret.txt") is None
    assert edge.static_file(web, "/%2e%2e/secret.txt") is None
    assert edge.static_file(web, "/missing.js") is None


@pytest.fixture
def s3_with_object(moto_url):
    client = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x", config=CLIENT_CONFIG)
    client.create_bucket(Bucket="faults-test")
    client.put_object(Bucket="faults-test", Key="k", Body=b"data")
    return client


@pytest.fixture(scope="module")
def moto_url():
    from pixelate.local import moto_server

    server = moto_server.start()
    yield server.url
    server.stop()


def test_faults_are_retried_by_the_client_and_surface_as_transient_errors(s3_with_object):
    injector = faults.install(s3_with_object, 1.0, seed=1)
    with pytest.raises(ClientError) as raised:
        s3_with_object.get_object(Bucket="faults-test", Key="k")
    assert raised.value.response["Error"]["Code"] in {"SlowDown", "InternalError", "ServiceUnavailable"}
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] in {500, 503}
    # every attempt of the client's retries was answered with a fault: 1 + CLIENT_CONFIG's 3 retries
    assert injector.requests == injector.injected == 4


def test_a_partial_fault_rate_fails_about_that_fraction_of_requests(s3_with_object):
    injector = faults.install(s3_with_object, 0.3, seed=7)
    for _ in range(60):
        try:
            s3_with_object.head_object(Bucket="faults-test", Key="k")
        except ClientError:
            pass
    assert 0.15 < injector.injected / injector.requests < 0.45
