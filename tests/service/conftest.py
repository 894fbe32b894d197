"""Fixtures of the service tests: Lambda events in AWS's shapes, and a processing pipeline on moto."""
from __future__ import annotations

import uuid

import pytest

# --- event shapes, built the way AWS delivers them ---------------------------------------------------------


class EventShapes:
    """Builders of the Lambda events the processing function receives, in AWS's own shapes.

    Keys are written ``quote_plus``-encoded, as S3 writes them into notifications; EventBridge events carry them raw.
    """

    @staticmethod
    def s3_record(bucket: str, key: str, etag: str = "", size: int = 0, event_name: str = "ObjectCreated:Put") -> dict:
        from urllib.parse import quote_plus

        return {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": "2026-01-01T00:00:00.000Z",
            "eventName": event_name,
            "userIdentity": {"principalId": "AWS:EXAMPLE"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": "EXAMPLE", "x-amz-id-2": "EXAMPLE"},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "jobs",
                "bucket": {"name": bucket, "ownerIdentity": {"principalId": "EXAMPLE"}, "arn": f"arn:aws:s3:::{bucket}"},
                "object": {"key": quote_plus(key), "size": size, "eTag": etag, "sequencer": "0055AED6DCD90281E5"},
            },
        }

    @classmethod
    def s3(cls, bucket: str, *keys: str, **kw) -> dict:
        return {"Records": [cls.s3_record(bucket, key, **kw) for key in keys]}

    @staticmethod
    def s3_test_event(bucket: str) -> dict:
        return {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-01-01T00:00:00.000Z", "Bucket": bucket}

    @staticmethod
    def sns_envelope(message: dict) -> dict:
        """What SNS puts in an SQS message body (raw delivery off) or in a Lambda SNS record's ``Sns``."""
        import json

        return {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:uploads",
            "Subject": None,
            "Message": json.dumps(message),
            "Timestamp": "2026-01-01T00:00:00.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
            "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
            "MessageAttributes": {},
        }

    @classmethod
    def sns(cls, message: dict) -> dict:
        return {
            "Records": [
                {
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:uploads:sub",
                    "EventSource": "aws:sns",
                    "Sns": cls.sns_envelope(message),
                }
            ]
        }

    @staticmethod
    def eventbridge(bucket: str, key: str, etag: str = "", size: int = 0, detail_type: str = "Object Created") -> dict:
        """EventBridge carries the key raw, not URL-encoded (AWS's example event and a real captured one show
        ``:`` and spaces as they are; moto sends them raw too)."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": "aws.s3",
            "account": "123456789012",
            "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": [f"arn:aws:s3:::{bucket}"],
            "detail": {
                "version": "0",
                "bucket": {"name": bucket},
                "object": {"key": key, "size": size, "etag": etag, "sequencer": "617f08299329d189"},
                "request-id": "EXAMPLE",
                "requester": "123456789012",
                "source-ip-address": "127.0.0.1",
                "reason": "PutObject",
            },
        }

    @staticmethod
    def sqs(*bodies, message_ids: list[str] | None = None) -> dict:
        """An SQS batch as the event source mapping delivers it; dict bodies are JSON-encoded."""
        import json

        ids = message_ids or [str(uuid.uuid4()) for _ in bodies]
        return {
            "Records": [
                {
                    "messageId": message_id,
                    "receiptHandle": f"handle-{message_id}",
                    "body": body if isinstance(body, str) else json.dumps(body),
                    "attributes": {
                        "ApproximateReceiveCount": "1",
                        "SentTimestamp": "1767225600000",
                        "SenderId": "AIDAEXAMPLE",
                        "ApproximateFirstReceiveTimestamp": "1767225600000",
                    },
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:jobs",
                    "awsRegion": "us-east-1",
                }
                for message_id, body in zip(ids, bodies)
            ]
        }

    @staticmethod
    def backfill(bucket: str, key: str, options: dict | None = None) -> dict:
        """A backfill message body as `pixelate backfill` and the backfill state machine send it."""
        from pixelate.service.events import backfill_message

        return backfill_message(bucket, key, options or {})

    @staticmethod
    def batch_operations(bucket: str, *keys: str, schema: str = "1.0", user_arguments: dict | None = None,
                         task_ids: list[str] | None = None) -> dict:
        """An S3 Batch Operations ``LambdaInvoke`` event: schema 1.0 names the bucket by ARN, 2.0 by name and may
        carry ``userArguments``. Keys are URL-encoded (``quote_plus``), as the job's manifest must hold them."""
        from urllib.parse import quote_plus

        ids = task_ids or [f"task-{i}" for i in range(len(keys))]
        where = ({"s3BucketArn": f"arn:aws:s3:::{bucket}"} if schema == "1.0" else {"s3Bucket": bucket})
        job = {"id": "f3cc4f60-61f6-4a2b-8a21-d07600c373ce"}
        if schema != "1.0":
            job["userArguments"] = dict(user_arguments or {})
        return {
            "invocationSchemaVersion": schema,
            "invocationId": "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo",
            "job": job,
            "tasks": [{"taskId": task_id, "s3Key": quote_plus(key), "s3VersionId": None, **where}
                      for task_id, key in zip(ids, keys)],
        }

    @staticmethod
    def http(method: str, path: str, body: str | bytes | None = None, query: dict | None = None, headers: dict | None = None) -> dict:
        """An API Gateway HTTP API (payload 2.0) request on the ``$default`` stage. A bytes body is sent
        base64-encoded, as API Gateway sends binary bodies; a str body as text."""
        import base64
        from urllib.parse import urlencode

        is_base64 = isinstance(body, bytes)
        return {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": urlencode(query or {}),
            "headers": {"host": "api.example.com", "content-type": "application/json", **(headers or {})},
            "queryStringParameters": dict(query) if query else None,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api",
                "domainName": "api.example.com",
                "domainPrefix": "api",
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "pytest"},
                "requestId": str(uuid.uuid4()),
                "routeKey": "$default",
                "stage": "$default",
                "time": "01/Jan/2026:00:00:00 +0000",
                "timeEpoch": 1767225600000,
            },
            "body": base64.b64encode(body).decode() if is_base64 else body,
            "isBase64Encoded": is_base64,
        }


@pytest.fixture(scope="session")
def events() -> type[EventShapes]:
    """Builders of S3, SQS, SNS and EventBridge events in AWS's shapes (see ``EventShapes``)."""
    return EventShapes


# --- a processing pipeline on moto ------------------------------------------------------------------------


#: the processing function's key of versions in these tests (the template sets it from the stack's id)
SOURCE_VERSION_KEY = "0f1e2d3c-test-stack"


class Pipeline:
    """The AWS resources of one processing function on moto, with its environment set.

    ``notifications()`` drains the SQS queue subscribed to the topic: the SNS messages published so far.
    """

    def __init__(self, originals: str, processed: str, topic_arn: str, inbox_url: str):
        import boto3

        self.originals, self.processed, self.topic_arn, self.inbox_url = originals, processed, topic_arn, inbox_url
        self.s3 = boto3.client("s3")
        self.sqs = boto3.client("sqs")

    def put(self, key: str, body: bytes, metadata: dict | None = None, bucket: str | None = None) -> str:
        """Upload a source object; returns its ETag without quotes."""
        response = self.s3.put_object(Bucket=bucket or self.originals, Key=key, Body=body, Metadata=metadata or {})
        return response["ETag"].strip('"')

    def version(self, etag: str) -> str:
        """The version a record or an output of this function names for the original with ``etag``."""
        from pixelate.service.status import source_version

        return source_version(etag, SOURCE_VERSION_KEY)

    def source(self, key: str, etag: str) -> dict:
        """A record's ``source`` for ``key`` at ``etag``."""
        return {"key": key, "version": self.version(etag)}

    def status(self, key: str) -> dict | None:
        import json

        try:
            response = self.s3.get_object(Bucket=self.processed, Key=f"status/{key}.json")
        except self.s3.exceptions.NoSuchKey:
            return None
        return json.loads(response["Body"].read())

    def head_output(self, key: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return self.s3.head_object(Bucket=self.processed, Key=f"pixelated/{key}")
        except ClientError:
            return None

    def processed_keys(self) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.processed)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def notifications(self) -> list[dict]:
        import json

        received = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = batch.get("Messages", [])
            if not messages:
                return received
            for message in messages:
                received.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.inbox_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def pipeline(moto_endpoint, unique_name, monkeypatch) -> Pipeline:
    """Fresh originals and processed buckets, a notification topic with an SQS queue subscribed to it, and the
    processing function's environment pointing at them (deletion of originals off)."""
    import boto3

    s3, sns, sqs = boto3.client("s3"), boto3.client("sns"), boto3.client("sqs")
    originals, processed = unique_name("originals"), unique_name("processed")
    s3.create_bucket(Bucket=originals)
    s3.create_bucket(Bucket=processed)
    topic_arn = sns.create_topic(Name=unique_name("notify"))["TopicArn"]
    inbox_url = sqs.create_queue(QueueName=unique_name("inbox"))["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)
    monkeypatch.setenv("PROCESSED_BUCKET", processed)
    monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", topic_arn)
    monkeypatch.setenv("DELETE_ORIGINALS", "false")
    monkeypatch.setenv("SOURCE_VERSION_KEY", SOURCE_VERSION_KEY)
    for name in ("DEFAULT_PIXEL_SIZE", "DEFAULT_METHOD", "PIXELATE_MAX_BYTES", "PIXELATE_MAX_PIXELS", "PIXELATE_MAX_FRAMES"):
        monkeypatch.delenv(name, raising=False)
    return Pipeline(originals, processed, topic_arn, inbox_url)
