"""The progress view of `pixelate up` on the runner's real reports against moto: a message that SQS moves to the
dead-letter queue by itself (no worker reports that) gets a line naming it and counts in the totals, and a job
whose object is gone says so instead of "no status record"."""
from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from pixelate.local import runner
from pixelate.local.progress import ProgressView
from pixelate.local.settings import read_settings
from pixelate.local.worker import BatchReport
from tests.local.test_runner import client, make_mapped_queue
from tests.support.paths import REPO

pytestmark = pytest.mark.slow


class Stack:
    """What the view reads of a LocalStack: outputs, clients, the runner's settings and the folder of the logs."""

    def __init__(self, moto, settings, folder: Path, processed_bucket: str):
        sqs = client(moto, "sqs")
        dlq_name = settings.queue.dead_letter_arn.rsplit(":", 1)[1]
        self.settings = settings
        self.folder = folder
        self.outputs = {"ProcessedBucket": processed_bucket, "DeadLetterQueueUrl": sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"]}
        self._moto = moto

    def client(self, service):
        return client(self._moto, service)


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_message_sqs_dead_letters_is_named_and_counted(moto, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the workers import tests/support/local_test_handlers.py
    queue = make_mapped_queue(moto, "tests.support.local_test_handlers.fail_everything", visibility=1, max_receive=2)
    client(moto, "s3").create_bucket(Bucket="processed")
    settings = read_settings(moto.url, "us-east-1", queue)
    runner.take_over(settings)
    out = io.StringIO()
    view = ProgressView(out=out)
    view.attach(Stack(moto, settings, tmp_path, "processed"))
    the_runner = runner.Runner(settings, workers=1, on_report=view)
    the_runner.start()
    try:
        malformed = client(moto, "sqs").send_message(QueueUrl=queue, MessageBody=json.dumps({"hello": "world"}))["MessageId"]
        # No worker reports the move (SQS makes it on a later receive): the view's own timer must see it.
        wait_for(lambda: "dead-lettered  message" in out.getvalue())
    finally:
        view.close()
        the_runner.stop()
    text = out.getvalue()
    assert "retry" in text and f"message {malformed} (names no object)" in text  # each failed delivery said
    (line,) = [line for line in text.splitlines() if line.lstrip().startswith("dead-lettered")]
    assert malformed in line and "after 2 receives" in line and str(tmp_path / ".pixelate" / "logs" / "worker-0.log") in line
    assert text.splitlines()[-1].endswith("dead-lettered 1")  # the totals under it count it
    assert view.totals.dead_lettered == 1 and view.totals.redeliveries == 2


def test_a_finished_job_whose_object_is_gone_says_so(moto, tmp_path):
    s3 = client(moto, "s3")
    for bucket in ("originals-gone", "processed-gone"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket="originals-gone", Key="still/here.png", Body=b"x")
    queue = make_mapped_queue(moto, "tests.support.local_test_handlers.fail_everything")
    out = io.StringIO()
    view = ProgressView(out=out)
    view.attach(Stack(moto, read_settings(moto.url, "us-east-1", queue), tmp_path, "processed-gone"))
    try:
        view(BatchReport(worker=0, pid=1, received=2, ms=5, failed=[],
                         deleted=[("originals-gone", "missing/two.png", 1), ("originals-gone", "still/here.png", 1)]))
    finally:
        view.close()
    lines = out.getvalue().splitlines()
    assert any("gone" in line and "missing/two.png" in line and "no longer exists" in line for line in lines), lines
    assert any("still/here.png" in line and "(no status record)" in line for line in lines), lines
