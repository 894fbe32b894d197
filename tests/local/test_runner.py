"""The runner's Lambda-on-SQS semantics against moto's real SQS and Lambda APIs (moto's server in a child).

Also the two facts about moto the runner is built on, measured here: moto's own consumer of an event source
mapping costs every message one receive unless the runner takes the mapping over, and moto's SQS moves a
message to the dead-letter queue once it has been received maxReceiveCount times.
"""
from __future__ import annotations

import io
import json
import threading
import time
import uuid
import zipfile

import boto3
import pytest

from pixelate.local import runner
from pixelate.local.settings import read_settings
from pixelate.local.worker import BatchReport
from tests.support.paths import REPO

pytestmark = pytest.mark.slow


def client(moto, service):
    return boto3.client(service, endpoint_url=moto.url, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")


def make_mapped_queue(moto, handler: str, visibility: int = 1, max_receive: int = 2, batch: int = 10,
                      timeout: int = 30) -> str:
    """A job queue with a DLQ, a function named ``handler`` and its event source mapping; the queue URL."""
    sqs, lambda_, iam = client(moto, "sqs"), client(moto, "lambda"), client(moto, "iam")
    name = uuid.uuid4().hex[:12]
    dlq = sqs.create_queue(QueueName=f"dlq-{name}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName=f"jobs-{name}", Attributes={
        "VisibilityTimeout": str(visibility),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive}),
    })["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    role = iam.create_role(RoleName=f"role-{name}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("placeholder.py", "")
    lambda_.create_function(FunctionName=f"fn-{name}", Runtime="python3.12", Role=role, Handler=handler,
                            Code={"ZipFile": code.getvalue()}, Timeout=timeout,
                            Environment={"Variables": {"MARKER": name}})
    lambda_.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=f"fn-{name}", BatchSize=batch,
                                        FunctionResponseTypes=["ReportBatchItemFailures"])
    return queue


def s3_event(key: str) -> str:
    record = {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "originals"}, "object": {"key": key}}}
    return json.dumps({"Records": [record]})


def dead_letters(moto, queue_url: str) -> list[dict]:
    sqs = client(moto, "sqs")
    redrive = json.loads(sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"])
    dlq_url = sqs.get_queue_url(QueueName=redrive["deadLetterTargetArn"].rsplit(":", 1)[1])["QueueUrl"]
    return sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                               AttributeNames=["All"]).get("Messages", [])


class Reports:
    """Collects the runner's batch reports; waits for a condition on them."""

    def __init__(self):
        self.items: list[BatchReport] = []
        self.changed = threading.Condition()

    def __call__(self, report):
        with self.changed:
            self.items.append(report)
            self.changed.notify_all()

    def wait(self, condition, timeout=30.0):
        with self.changed:
            assert self.changed.wait_for(lambda: condition(self.items), timeout), self.items


@pytest.fixture
def start_runner(moto, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the workers import tests/support/local_test_handlers.py
    started = []

    def start(queue_url: str, workers: int = 1) -> tuple[runner.Runner, Reports]:
        settings = read_settings(moto.url, "us-east-1", queue_url)
        runner.take_over(settings)
        reports = Reports()
        the_runner = runner.Runner(settings, workers=workers, on_report=reports)
        the_runner.start()
        started.append(the_runner)
        reports.wait(lambda items: sum(1 for r in items if r.received == 0) >= workers)  # all ready
        return the_runner, reports

    yield start
    for the_runner in started:
        the_runner.stop()


def test_moto_consumes_one_receive_per_message_unless_the_runner_takes_the_mapping_over(moto):
    queue = make_mapped_queue(moto, "tests.support.local_test_handlers.fail_everything", visibility=30, max_receive=5)
    sqs = client(moto, "sqs")
    sqs.send_message(QueueUrl=queue, MessageBody="before")
    (message,) = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"])["Messages"]
    assert message["Attributes"]["ApproximateReceiveCount"] == "2"  # moto's docker-less "invoke" took one

    runner.take_over(read_settings(moto.url, "us-east-1", queue))
    sqs.send_message(QueueUrl=queue, MessageBody="after")
    (message,) = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"])["Messages"]
    assert (message["Body"], message["Attributes"]["ApproximateReceiveCount"]) == ("after", "1")


def test_settings_are_read_from_the_function_the_mapping_and_the_queue(moto):
    queue = make_mapped_queue(moto, "tests.support.local_test_handlers.fail_marked", visibility=7, max_receive=4, batch=3, timeout=9)
    settings = read_settings(moto.url, "us-east-1", queue)
    assert settings.function.handler == "tests.support.local_test_handlers.fail_marked"
    assert settings.function.timeout_s == 9 and "MARKER" in settings.function.environment
    assert (settings.queue.batch_size, settings.queue.visibility_timeout_s, settings.queue.max_receive_count) == (3, 7, 4)
    assert settings.queue.report_batch_item_failures


def test_failed_messages_come_back_and_reach_the_dead_letter_queue_after_max_receive_count(moto, start_runner):
    queue = make_mapped_queue(moto, "tests.support.local_test_handlers.fail_everything", visibility=1, max_receive=2)
    _runner, reports = start_runner(queue)
    client(moto, "sqs").send_message(QueueUrl=queue, MessageBody=s3_event("doomed.jpg"))
    reports.wait(lambda items: sum(len(r.failed) for r in items) >= 2)
    time.sleep(2.5)  # past the visibility timeout: the next receive moves it instead of delivering it
    deliveries = sorted(delivery for r in reports.items for _b, _k, delivery in r.failed)
    assert deliveries == [1, 2]  # delivered exactly maxReceiveCount times, never a third
    (dead,) = dead_letters(moto, queue)
    assert json.loads(dead["Body"])["Records"][0]["s3"]["object"]["key"] == "doomed.jpg"


def test_only_the_reported_items_of_a_batch_are_retried(moto, start_runner):
    queue = make_mapped_queue(moto, "tests.support.local_test_handlers.fail_marked", visibility=1, max_receive=3)
    _runner, reports = start_runner(queue)  # first: it takes the mapping over from moto
    sqs = client(moto, "sqs")
    for key in ("ok-1", "ok-2", "fail-1", "ok-3"):
        sqs.send_message(QueueUrl=queue, MessageBody=s3_event(key))
    reports.wait(lambda items: sum(len(r.failed) for r in items) >= 3)  # fail-1: three deliveries
    deleted = sorted(key for r in reports.items for _b, key, _d in r.deleted)
    failed = [(key, delivery) for r in reports.items for _b, key, delivery in r.failed]
    assert deleted == ["ok-1", "ok-2", "ok-3"]  # each once: deleted after its first, successful, delivery
    assert sorted(failed) == [("fail-1", 1), ("fail-1", 2), ("fail-1", 3)]


def test_an_invocation_past_the_function_timeout_fails_the_whole_batch(moto, start_runner):
    queue = make_mapped_queue(moto, "tests.support.local_test_handlers.sleep_past_timeout", visibility=30, max_receive=3, timeout=1)
    _runner, reports = start_runner(queue)
    client(moto, "sqs").send_message(QueueUrl=queue, MessageBody=s3_event("slow.jpg"))
    reports.wait(lambda items: any(r.failed for r in items), timeout=20)
    (report,) = [r for r in reports.items if r.failed]
    assert "InvocationTimeout" in report.error and report.ms < 3000


def test_a_dead_worker_is_replaced(moto, start_runner):
    queue = make_mapped_queue(moto, "tests.support.local_test_handlers.fail_marked")
    the_runner, reports = start_runner(queue, workers=2)
    victim = the_runner.pids[0]
    import os
    import signal

    os.kill(victim, signal.SIGKILL)
    reports.wait(lambda items: sum(1 for r in items if r.received == 0) >= 3)  # a third "ready": the replacement
    assert victim not in the_runner.pids and len(the_runner.pids) == 2 and the_runner.restarts == 1
