"""The local backfill sender against moto's server: every message sent once, entries SQS fails on its side sent
again, refusals raised, and the queue kept short for moto's sake."""
from __future__ import annotations

import json

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from pixelate.local import backfill as sender
from pixelate.service.events import Job, jobs_from_message


@pytest.fixture
def queue(moto_endpoint, unique_name):
    sqs = boto3.client("sqs")
    return sqs, sqs.create_queue(QueueName=unique_name("jobs"))["QueueUrl"]


def take(sqs, queue_url: str, most: int = 10_000) -> list[dict]:
    """Receive and delete up to ``most`` messages; their bodies."""
    taken = []
    while len(taken) < most and (messages := sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=min(10, most - len(taken))).get("Messages", [])):
        taken += [m["Body"] for m in messages]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                              for i, m in enumerate(messages)])
    return taken


def test_every_key_is_sent_once_in_batches_of_ten(queue):
    sqs, url = queue
    keys = [f"k/{i}.png" for i in range(37)]
    sizes = []
    assert sender.send_backfill(sqs, url, "originals", keys, {"pixel-size": "24"}, sizes.append) == 37
    assert sizes == [10, 10, 10, 7]
    jobs = [job for body in take(sqs, url) for job in jobs_from_message(body)]
    assert sorted(jobs, key=lambda j: j.key) == sorted(
        (Job("originals", key, overrides={"pixel-size": "24"}) for key in keys), key=lambda j: j.key)


def partial_failure(sqs, fail_id: str, times: int, sender_fault: bool = False):
    """Make the next ``times`` SendMessageBatch calls fail entry ``fail_id`` as SQS would: the entry is not sent,
    and the answer lists it under Failed. Alone in its batch, the request never reaches moto and the answer is
    SQS's own JSON for one failed entry."""
    state = {"left": times, "alone": False}

    def drop(params, **_):
        state["alone"] = False
        if state["left"] > 0 and any(e["Id"] == fail_id for e in params["Entries"]):
            if len(params["Entries"]) == 1:
                state["alone"] = True
            else:
                params["Entries"] = [e for e in params["Entries"] if e["Id"] != fail_id]

    def answer_alone(request, **_):
        if state["alone"]:
            body = json.dumps({"Successful": [], "Failed": [failure()]}).encode()
            return AWSResponse(request.url, 200, {"content-type": "application/x-amz-json-1.0"}, _Body(body))
        return None

    def report(parsed, **_):
        if state["left"] > 0:
            state["left"] -= 1
            if not state["alone"]:
                parsed.setdefault("Failed", []).append(failure())

    def failure():
        return {"Id": fail_id, "SenderFault": sender_fault, "Code": "InternalError", "Message": "injected"}

    sqs.meta.events.register("before-parameter-build.sqs.SendMessageBatch", drop)
    sqs.meta.events.register("before-send.sqs.SendMessageBatch", answer_alone)
    sqs.meta.events.register("after-call.sqs.SendMessageBatch", report)


class _Body:
    """The raw stream botocore reads an ``AWSResponse``'s content from."""

    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_kwargs):
        yield self._data


def test_entries_sqs_fails_on_its_side_are_sent_again(queue):
    sqs, url = queue
    partial_failure(sqs, "3", times=2)
    pauses = []
    sender.send_batch(sqs, url, [{"Id": str(i), "MessageBody": f"m{i}"} for i in range(10)], sleep=pauses.append)
    assert sorted(take(sqs, url)) == sorted(f"m{i}" for i in range(10))  # each exactly once
    assert pauses == [0.2, 0.4]


def test_entries_that_keep_failing_or_are_refused_raise(queue):
    sqs, url = queue
    partial_failure(sqs, "1", times=99)
    with pytest.raises(sender.SendError, match="still failed after 5 attempts"):
        sender.send_batch(sqs, url, [{"Id": "0", "MessageBody": "a"}, {"Id": "1", "MessageBody": "b"}], sleep=lambda s: None)
    sqs2 = boto3.client("sqs")
    partial_failure(sqs2, "1", times=1, sender_fault=True)
    with pytest.raises(sender.SendError, match="refused 1 message"):
        sender.send_batch(sqs2, url, [{"Id": "0", "MessageBody": "a"}, {"Id": "1", "MessageBody": "b"}], sleep=lambda s: None)


def test_the_queue_is_kept_short_while_the_workers_catch_up(queue):
    """With no room the sender waits; here each pause stands for a worker taking a few messages."""
    sqs, url = queue
    depths = []

    def a_worker_takes_some(_seconds):
        depths.append(sender.waiting(sqs, url))
        take(sqs, url, most=7)

    keys = [f"k/{i}" for i in range(120)]
    assert sender.send_backfill(sqs, url, "b", keys, {}, max_waiting=20, sleep=a_worker_takes_some) == 120
    assert depths and all(20 <= depth < 20 + 10 for depth in depths)
    assert sender.waiting(sqs, url) < 30
    received = take(sqs, url)
    assert len(received) + 7 * len(depths) == 120
