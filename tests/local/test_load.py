"""Load: 300 uploads from 8 threads, one in ten hostile, into `pixelate up --inject-faults 0.05 --workers 4`.

Every upload must reach exactly one terminal status (one status record and one SNS notification), the good
ones `done`, the hostile ones `failed` with their reason, and the dead-letter queue must stay empty. Prints
throughput and the p50/p95 latency from the end of an upload to its status record appearing.
"""
from __future__ import annotations

import io
import json
import os
import re
import statistics
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from tests.support.paths import CORPUS
from tests.support.up_process import UpProcess

pytestmark = [pytest.mark.stack, pytest.mark.slow]

UPLOADS = 300
THREADS = 8
HOSTILE_EVERY = 10
FAULT_RATE = "0.05"
WORKERS = "4"
TIMEOUT_S = 150

#: (file in the corpus or None for random bytes, the reason it must fail with)
HOSTILE = [
    ("broken.png", "corrupt"),
    ("decompression_bomb.gif", "too-large"),
    ("hopper.psd", "unsupported-format"),
    (None, "unsupported-format"),
]


def small_image(index: int) -> tuple[bytes, str]:
    """A small photo-like image (a gradient with a per-index tint), alternately JPEG and PNG."""
    image = Image.linear_gradient("L").resize((96, 64)).convert("RGB")
    image = Image.blend(image, Image.new("RGB", image.size, ((index * 37) % 256, (index * 91) % 256, 128)), 0.5)
    out = io.BytesIO()
    kind = "JPEG" if index % 2 else "PNG"
    image.save(out, format=kind)
    return out.getvalue(), kind.lower()


def plan(prefix: str) -> list[tuple[str, bytes, str | None]]:
    """(key, bytes, expected failure reason or None) for every upload."""
    uploads = []
    for index in range(UPLOADS):
        if index % HOSTILE_EVERY == HOSTILE_EVERY - 1:
            name, reason = HOSTILE[(index // HOSTILE_EVERY) % len(HOSTILE)]
            data = (CORPUS / name).read_bytes() if name else os.urandom(2048)
            uploads.append((f"{prefix}hostile/{index:03d}-{name or 'random.bin'}", data, reason))
        else:
            data, kind = small_image(index)
            uploads.append((f"{prefix}good/{index:03d}.{'jpg' if kind == 'jpeg' else 'png'}", data, None))
    return uploads


def subscribe_queue(up: UpProcess) -> str:
    """An SQS queue subscribed to the notification topic: one message per terminal status."""
    sqs, sns = up.client("sqs"), up.client("sns")
    url = sqs.create_queue(QueueName=f"load-notifications-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=up.outputs["NotificationTopicArn"], Protocol="sqs", Endpoint=arn,
                  Attributes={"RawMessageDelivery": "true"})
    return url


def drain_notifications(up: UpProcess, url: str) -> list[dict]:
    sqs = up.client("sqs")
    messages = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not batch:
            return messages
        messages += [json.loads(m["Body"]) for m in batch]
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])


def notified_key(message: dict) -> str | None:
    """The original's key an SNS notification is about (the message is the status record)."""
    record = json.loads(message["Message"]) if "Message" in message and isinstance(message["Message"], str) else message
    return (record.get("source") or {}).get("key")


def test_300_uploads_with_faults_each_reach_exactly_one_terminal_status(tmp_path):
    up = UpProcess(tmp_path, "--workers", WORKERS, "--inject-faults", FAULT_RATE,
                   "--parameter", "QueueVisibilityTimeout=30")
    try:
        notifications = subscribe_queue(up)
        prefix = f"load-{uuid.uuid4().hex[:6]}/"
        uploads = plan(prefix)
        s3 = up.client("s3")
        uploaded_at: dict[str, float] = {}
        seen_at: dict[str, float] = {}
        finished = threading.Event()

        def watch() -> None:  # first sight of each status record, for the latency
            lister = up.client("s3")
            while not finished.is_set():
                for page in lister.get_paginator("list_objects_v2").paginate(Bucket=up.outputs["ProcessedBucket"], Prefix=f"status/{prefix}"):
                    now = time.monotonic()
                    for item in page.get("Contents", []):
                        seen_at.setdefault(item["Key"][len("status/"):-len(".json")], now)
                if len(seen_at) >= len(uploads):
                    return
                time.sleep(0.2)

        def put(upload) -> None:
            key, data, _reason = upload
            s3.put_object(Bucket=up.outputs["OriginalsBucket"], Key=key, Body=data)
            uploaded_at[key] = time.monotonic()

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        started = time.monotonic()
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(put, uploads))
        watcher.join(TIMEOUT_S)
        finished.set()
        elapsed = max(seen_at.values(), default=started) - started

        missing = [key for key, _data, _reason in uploads if key not in seen_at]
        assert not missing, f"{len(missing)} uploads without a status, e.g. {missing[:5]}\n{up.log()[-3000:]}"
        records = {}
        for key, _data, reason in uploads:
            record = json.loads(s3.get_object(Bucket=up.outputs["ProcessedBucket"], Key=f"status/{key}.json")["Body"].read())
            expected = ("done", None) if reason is None else ("failed", reason)
            assert (record["state"], record["reason"]) == expected, (key, record)
            records[key] = record
        assert len(seen_at) == UPLOADS  # one status record per upload, no stray ones under the prefix

        time.sleep(1)
        counts = Counter(notified_key(message) for message in drain_notifications(up, notifications))
        assert {key: counts.get(key, 0) for key in records} == {key: 1 for key in records}  # exactly one each

        sqs = up.client("sqs")
        for queue in ("DeadLetterQueueUrl", "JobQueueUrl"):
            attributes = sqs.get_queue_attributes(QueueUrl=up.outputs[queue], AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            assert attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}, queue

        faults = [int(m) for m in re.findall(r"faults injected (\d+)", up.log())]
        assert faults and max(faults) > 0, "no fault was injected"  # the progress view's running total

        latencies = sorted(seen_at[key] - uploaded_at[key] for key in uploaded_at)
        p50, p95 = statistics.median(latencies), latencies[int(0.95 * (len(latencies) - 1))]
        handler_ms = sorted(record["elapsed_ms"] for record in records.values())
        print(
            f"\nload: {UPLOADS} uploads ({UPLOADS // HOSTILE_EVERY} hostile) from {THREADS} threads, {WORKERS} workers, "
            f"faults {FAULT_RATE} ({max(faults)} S3 requests failed): {UPLOADS / elapsed:.1f} uploads/s over {elapsed:.1f} s; "
            f"upload-to-status p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms; "
            f"handler p50 {statistics.median(handler_ms):.0f} ms"
        )
    finally:
        up.stop()
