"""`pixelate backfill` against `pixelate up`, both as a user runs them (subprocesses in a folder of their own):
2,000 small originals already in the bucket, backfilled at a new pixel size with a first run killed half-way
while it sends and a second run with the same arguments; then the same backfill again, which redoes nothing.

The originals are uploaded while the bucket's notification is off: they are the photos that were there before
the service (and it saves a whole processing pass). Images are tiny, so the time is the service's own.
"""
from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from tests.support.up_process import UpProcess, user_env

pytestmark = [pytest.mark.stack, pytest.mark.slow]

COUNT = 2000
PREFIX = "library/"
#: Originals that are not images: they must end `failed` with their reason, like an upload would.
MALFORMED = {f"{PREFIX}broken/not-an-image-{i}.png": b"definitely not a PNG " * (i + 1) for i in range(4)}
MALFORMED.update({f"{PREFIX}broken/truncated-{i}.png": None for i in range(4)})  # a PNG cut short (below)
BACKFILL_TIMEOUT_S = 1800


def png(index: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), ((index * 7) % 256, (index * 13) % 256, 90)).save(buffer, "PNG")
    return buffer.getvalue()


def keys_and_bodies() -> dict[str, bytes]:
    good = COUNT - len(MALFORMED)
    bodies = {f"{PREFIX}{i // 100:02d}/photo {i:04d}+é.png": png(i) for i in range(good)}
    for key, body in MALFORMED.items():
        bodies[key] = body if body is not None else png(len(key))[:40]
    assert len(bodies) == COUNT
    return bodies


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """`pixelate up` with 2,000 originals already in the bucket (uploaded with the notification off), and an SQS
    inbox subscribed to the notification topic."""
    up = UpProcess(tmp_path_factory.mktemp("backfill-user"), "--workers", "2")
    try:
        s3, sqs, sns = up.client("s3"), up.client("sqs"), up.client("sns")
        bucket = up.outputs["OriginalsBucket"]
        notification = s3.get_bucket_notification_configuration(Bucket=bucket)
        notification.pop("ResponseMetadata", None)
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
        bodies = keys_and_bodies()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda item: s3.put_object(Bucket=bucket, Key=item[0], Body=item[1]), bodies.items()))
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=notification)
        inbox = sqs.create_queue(QueueName="backfill-test-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=up.outputs["NotificationTopicArn"], Protocol="sqs", Endpoint=inbox_arn)
        up.bodies, up.inbox = bodies, inbox
        yield up
    finally:
        up.stop()


def backfill(up: UpProcess, *arguments: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pixelate.cli", "backfill", *arguments], cwd=up.cwd,
                            env=user_env(), stdin=subprocess.DEVNULL, text=True, **popen)


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=BACKFILL_TIMEOUT_S)
    return process.returncode, out, err


def statuses(up: UpProcess) -> dict[str, tuple[str, object]]:
    """Original key -> (ETag, LastModified) of its status record, for every status under the prefix."""
    s3 = up.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=up.outputs["ProcessedBucket"], Prefix=f"status/{PREFIX}")
    return {item["Key"][len("status/"):-len(".json")]: (item["ETag"], item["LastModified"])
            for page in pages for item in page.get("Contents", [])}


def record(up: UpProcess, key: str) -> dict:
    body = up.client("s3").get_object(Bucket=up.outputs["ProcessedBucket"], Key=f"status/{key}.json")["Body"].read()
    return json.loads(body)


def records(up: UpProcess, keys) -> dict[str, dict]:
    """The status records of ``keys``, read eight at a time."""
    s3, bucket = up.client("s3"), up.outputs["ProcessedBucket"]

    def read(key: str) -> tuple[str, dict]:
        return key, json.loads(s3.get_object(Bucket=bucket, Key=f"status/{key}.json")["Body"].read())

    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(read, list(keys)))


def wait_until_the_queue_is_empty(up: UpProcess, timeout: float = 600) -> None:
    """Until the job queue has nothing visible or in flight, twice in a row."""
    sqs, quiet, deadline = up.client("sqs"), 0, time.monotonic() + timeout
    while quiet < 2:
        attributes = sqs.get_queue_attributes(QueueUrl=up.outputs["JobQueueUrl"], AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        quiet = quiet + 1 if not any(int(v) for v in attributes.values()) else 0
        assert time.monotonic() < deadline, attributes
        time.sleep(1)


def drain(up: UpProcess) -> list[dict]:
    sqs, received = up.client("sqs"), []
    while messages := sqs.receive_message(QueueUrl=up.inbox, MaxNumberOfMessages=10).get("Messages", []):
        received += [json.loads(json.loads(m["Body"])["Message"]) for m in messages]
        sqs.delete_message_batch(QueueUrl=up.inbox, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                            for i, m in enumerate(messages)])
    return received


def kill_while_sending(process: subprocess.Popen, err_path: Path, at_least: int) -> int:
    """SIGKILL the backfill once its send bar shows ``at_least`` objects sent; returns the last count shown."""
    deadline = time.monotonic() + BACKFILL_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the backfill ended before it could be killed:\n{err_path.read_text()[-2000:]}"
        shown = re.findall(r"send:.*?\| *(\d+)/(\d+)", err_path.read_text(errors="replace"))
        if shown and int(shown[-1][0]) >= at_least:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(30)
            return int(re.findall(r"send:.*?\| *(\d+)/(\d+)", err_path.read_text(errors="replace"))[-1][0])
        time.sleep(0.02)
    raise TimeoutError(err_path.read_text()[-2000:])


def test_backfill_killed_half_way_then_restarted_then_repeated(library, tmp_path):
    up, keys = library, sorted(library.bodies)
    assert statuses(up) == {}  # nothing was processed at upload: the notification was off
    arguments = ("--prefix", PREFIX, "--pixel-size", "24", "--wait")

    # a first run, killed while it sends
    err_path = tmp_path / "killed.err"
    with err_path.open("w") as err:
        killed = backfill(up, *arguments, stdout=subprocess.DEVNULL, stderr=err)
        shown = kill_while_sending(killed, err_path, at_least=COUNT // 4)
    assert killed.returncode == -signal.SIGKILL
    assert COUNT // 4 <= shown < COUNT, shown  # stopped part-way: the rest was never sent
    before = statuses(up)
    finished_before = {k: before[k] for k, r in records(up, before).items() if r["options"]["pixel_size"] == 24}

    # the same command again: completes, nothing lost, and what had finished is not redone
    code, out, err = finish(backfill(up, *arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    assert code == 2, out + err[-2000:]  # some originals are not images: they failed, as uploads would
    assert f"done {COUNT - len(MALFORMED)}, failed {len(MALFORMED)} (corrupt 4, unsupported-format 4)" in out, out
    assert re.search(r"\d+ objects finished in [\d.]+ s \([\d.]+ objects/s\)", out)
    wait_until_the_queue_is_empty(up)
    after = statuses(up)
    assert sorted(after) == keys  # exactly one status record per original, none for anything else
    for key, state in records(up, keys).items():
        assert state["options"] == {"pixel_size": 24, "method": "average", "regions": [], "faces": False}, state
        assert state["state"] == ("failed" if key in MALFORMED else "done"), state
    assert {k: after[k] for k in finished_before} == finished_before

    # the same backfill once more: every message is a no-op (no status rewritten, nobody notified)
    up.client("sqs").purge_queue(QueueUrl=up.inbox)  # the notifications so far (moto receives slowly from a deep queue)
    code, out, err = finish(backfill(up, *arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    assert code == 2 and f"done {COUNT - len(MALFORMED)}, failed {len(MALFORMED)}" in out, out + err[-2000:]
    wait_until_the_queue_is_empty(up)
    assert statuses(up) == after
    assert drain(up) == []


def test_without_flags_each_object_keeps_its_own_options_and_bad_flags_are_refused(library, tmp_path):
    """No option flag: an object's own metadata and the defaults apply; an invalid flag is a usage error."""
    up = library
    s3 = up.client("s3")
    s3.put_object(Bucket=up.outputs["OriginalsBucket"], Key="own/nearest.png", Body=png(1),
                  Metadata={"pixel-size": "8", "method": "nearest"})
    s3.put_object(Bucket=up.outputs["OriginalsBucket"], Key="own/plain.png", Body=png(2))
    wait_until_the_queue_is_empty(up)  # the uploads' own events, processed with the same options
    before = {k: record(up, k)["options"] for k in ("own/nearest.png", "own/plain.png")}
    code, out, err = finish(backfill(up, "--prefix", "own/", "--wait", stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    assert code == 0, out + err
    assert "done 2, failed 0" in out
    assert before == {"own/nearest.png": {"pixel_size": 8, "method": "nearest", "regions": [], "faces": False},
                      "own/plain.png": {"pixel_size": 16, "method": "average", "regions": [], "faces": False}}
    assert {k: record(up, k)["options"] for k in before} == before

    code, out, err = finish(backfill(up, "--pixel-size", "1", stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    assert code == 2 and "pixel size" in err  # argparse's usage error, before anything is sent
    code, out, err = finish(backfill(up, "--target", "aws", stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    assert code == 2 and "describes the local stack" in err  # flags that do not fit the stack: a usage error
