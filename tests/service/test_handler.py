"""The processing handler against moto's server: event shapes, keys, outputs, status, SNS, idempotency,
options, recursion, deletion of originals and metrics."""
from __future__ import annotations

import json

import pytest

from pixelate.service import handler
from tests.support.awkward_keys import KEYS
from tests.support.paths import CORPUS

# Invocations that only skip have no metric to flush; Powertools warns about that, and it is expected here.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

HOPPER = (CORPUS / "hopper.png").read_bytes()


def run(event):
    return handler.lambda_handler(event, None)


def assert_done(pipeline, key, etag, pixel_size=16, method="average"):
    record = pipeline.status(key)
    assert record is not None, f"no status for {key!r}"
    assert record["state"] == "done", record
    assert record["source"] == pipeline.source(key, etag)  # no bucket name, no MD5: the record is public
    assert record["options"] == {"pixel_size": pixel_size, "method": method, "regions": [], "faces": False}
    assert record["reason"] is None and record["message"] is None
    head = pipeline.head_output(key)
    assert head is not None
    assert record["output"]["key"] == f"pixelated/{key}"
    assert record["output"]["bytes"] == head["ContentLength"]
    assert record["output"]["content_type"] == head["ContentType"] == "image/png"
    return record


@pytest.mark.parametrize("key", KEYS)
def test_keys_as_s3_encodes_them_in_an_sqs_batch(pipeline, events, key):
    etag = pipeline.put(key, HOPPER)
    response = run(events.sqs(events.s3(pipeline.originals, key, etag=etag, size=len(HOPPER))))
    assert response == {"batchItemFailures": []}
    assert_done(pipeline, key, etag)


@pytest.mark.parametrize(
    "shape",
    ["sqs-s3", "sqs-sns", "sqs-eventbridge", "s3", "sns", "eventbridge"],
)
def test_every_event_shape(pipeline, events, shape):
    key = f"shapes/{shape} é+%.png"
    etag = pipeline.put(key, HOPPER)
    s3_event = events.s3(pipeline.originals, key, etag=etag, size=len(HOPPER))
    eventbridge = events.eventbridge(pipeline.originals, key, etag=etag, size=len(HOPPER))
    event = {
        "sqs-s3": events.sqs(s3_event),
        "sqs-sns": events.sqs(events.sns_envelope(s3_event)),
        "sqs-eventbridge": events.sqs(eventbridge),
        "s3": s3_event,
        "sns": events.sns(s3_event),
        "eventbridge": eventbridge,
    }[shape]
    response = run(event)
    expected = {"batchItemFailures": []} if shape.startswith("sqs") else {"outcomes": ["done"]}
    assert response == expected
    assert_done(pipeline, key, etag)


def test_s3_test_events_are_skipped(pipeline, events):
    test_event = events.s3_test_event(pipeline.originals)
    assert run(events.sqs(test_event)) == {"batchItemFailures": []}
    assert run(test_event) == {"outcomes": []}
    assert pipeline.processed_keys() == []


def test_real_notifications_from_s3_through_sqs(pipeline, events):
    """The messages S3 (moto) itself sends to a queue: the test event first, then quote_plus-encoded keys."""
    jobs_url = pipeline.sqs.create_queue(QueueName=f"{pipeline.originals}-jobs")["QueueUrl"]
    jobs_arn = pipeline.sqs.get_queue_attributes(QueueUrl=jobs_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pipeline.s3.put_bucket_notification_configuration(
        Bucket=pipeline.originals,
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": jobs_arn, "Events": ["s3:ObjectCreated:*"]}]},
    )
    etags = {key: pipeline.put(key, HOPPER) for key in KEYS}
    messages = []
    while batch := pipeline.sqs.receive_message(QueueUrl=jobs_url, MaxNumberOfMessages=10).get("Messages"):
        messages += batch
    assert len(messages) == len(KEYS) + 1  # the s3:TestEvent first
    event = events.sqs(*[m["Body"] for m in messages], message_ids=[m["MessageId"] for m in messages])
    assert run(event) == {"batchItemFailures": []}
    for key, etag in etags.items():
        assert_done(pipeline, key, etag)


def test_output_object_attributes(pipeline, events):
    key = "attrs/photo.png"
    etag = pipeline.put(key, HOPPER, metadata={"Pixel-Size": "8", "Method": "nearest"})
    run(events.s3(pipeline.originals, key))
    head = pipeline.head_output(key)
    assert head["ContentType"] == "image/png"
    assert head["CacheControl"] == "public, max-age=3600"  # not immutable: a result can be deleted or replaced
    assert head["Metadata"] == {"source-version": pipeline.version(etag), "pixel-size": "8", "method": "nearest"}
    record = assert_done(pipeline, key, etag, pixel_size=8, method="nearest")
    assert set(record) == {"state", "source", "output", "options", "reason", "message", "regions", "elapsed_ms", "finished_at"}
    assert record["output"] == {
        "key": f"pixelated/{key}",
        "content_type": "image/png",
        "width": 128,
        "height": 128,
        "frames": 1,
        "bytes": head["ContentLength"],
    }
    assert isinstance(record["elapsed_ms"], int) and record["elapsed_ms"] >= 0
    assert record["finished_at"].endswith("Z")
    status_head = pipeline.s3.head_object(Bucket=pipeline.processed, Key=f"status/{key}.json")
    assert status_head["ContentType"] == "application/json"


def test_defaults_come_from_the_environment(pipeline, events, monkeypatch):
    monkeypatch.setenv("DEFAULT_PIXEL_SIZE", "4")
    monkeypatch.setenv("DEFAULT_METHOD", "nearest")
    key = "defaults.png"
    etag = pipeline.put(key, HOPPER)
    run(events.s3(pipeline.originals, key))
    assert_done(pipeline, key, etag, pixel_size=4, method="nearest")


def test_one_notification_per_terminal_status_with_filterable_attributes(pipeline, events):
    pipeline.put("ok.png", HOPPER)
    pipeline.put("bad.png", b"this is not an image")
    run(events.s3(pipeline.originals, "ok.png", "bad.png"))
    received = {json.loads(n["Message"])["source"]["key"]: n for n in pipeline.notifications()}
    assert set(received) == {"ok.png", "bad.png"}
    attributes = {key: {k: v["Value"] for k, v in n["MessageAttributes"].items()} for key, n in received.items()}
    assert attributes["ok.png"] == {"state": "done", "reason": "none"}
    assert attributes["bad.png"] == {"state": "failed", "reason": "unsupported-format"}
    assert json.loads(received["bad.png"]["Message"]) == pipeline.status("bad.png")


def test_no_topic_configured_skips_notifications(pipeline, events, monkeypatch):
    monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", "")
    etag = pipeline.put("quiet.png", HOPPER)
    run(events.s3(pipeline.originals, "quiet.png"))
    assert_done(pipeline, "quiet.png", etag)
    assert pipeline.notifications() == []


# --- at least once ---


def test_a_repeated_event_does_nothing_more(pipeline, events):
    key = "again/photo.png"
    pipeline.put(key, HOPPER)
    event = events.sqs(events.s3(pipeline.originals, key))
    run(event)
    first_output = pipeline.head_output(key)
    first_status = pipeline.s3.head_object(Bucket=pipeline.processed, Key=f"status/{key}.json")
    assert len(pipeline.notifications()) == 1

    assert run(event) == {"batchItemFailures": []}
    assert run(events.s3(pipeline.originals, key)) == {"outcomes": ["skipped-already-done"]}

    again_output = pipeline.head_output(key)
    again_status = pipeline.s3.head_object(Bucket=pipeline.processed, Key=f"status/{key}.json")
    assert (again_output["ETag"], again_output["LastModified"]) == (first_output["ETag"], first_output["LastModified"])
    assert (again_status["ETag"], again_status["LastModified"]) == (first_status["ETag"], first_status["LastModified"])
    assert pipeline.notifications() == []


def test_a_repeated_event_for_a_failure_does_nothing_more(pipeline, events):
    pipeline.put("bad.png", b"not an image at all")
    assert run(events.s3(pipeline.originals, "bad.png")) == {"outcomes": ["failed"]}
    assert run(events.s3(pipeline.originals, "bad.png")) == {"outcomes": ["skipped-already-done"]}
    assert len(pipeline.notifications()) == 1


def test_a_changed_object_is_processed_again(pipeline, events):
    key = "changes.png"
    first_etag = pipeline.put(key, HOPPER)
    run(events.s3(pipeline.originals, key))
    other = (CORPUS / "transparent.png").read_bytes()
    second_etag = pipeline.put(key, other)
    assert second_etag != first_etag
    assert run(events.s3(pipeline.originals, key)) == {"outcomes": ["done"]}
    record = assert_done(pipeline, key, second_etag)
    assert pipeline.head_output(key)["Metadata"]["source-version"] == pipeline.version(second_etag)
    assert record["output"]["width"] != 128 or record["output"]["height"] != 128
    assert len(pipeline.notifications()) == 2


def test_new_options_on_the_same_content_are_processed_again(pipeline, events):
    """A copy onto itself with new metadata keeps the ETag; the options tell the two apart."""
    key = "recolour.png"
    etag = pipeline.put(key, HOPPER, metadata={"pixel-size": "8"})
    run(events.s3(pipeline.originals, key))
    pipeline.s3.copy_object(
        Bucket=pipeline.originals, Key=key, CopySource={"Bucket": pipeline.originals, "Key": key},
        Metadata={"pixel-size": "32"}, MetadataDirective="REPLACE",
    )
    assert pipeline.s3.head_object(Bucket=pipeline.originals, Key=key)["ETag"].strip('"') == etag
    assert run(events.s3(pipeline.originals, key)) == {"outcomes": ["done"]}
    assert_done(pipeline, key, etag, pixel_size=32)


def test_regions_in_the_metadata_pixelate_only_them_and_the_record_lists_them(pipeline, events):
    key = "privacy/plate.png"
    etag = pipeline.put(key, HOPPER, metadata={"regions": "10,10,20,20;0.5,0.5,0.25,0.25", "pixel-size": "8"})
    assert run(events.s3(pipeline.originals, key)) == {"outcomes": ["done"]}
    record = pipeline.status(key)
    assert record["state"] == "done" and record["source"] == pipeline.source(key, etag)
    assert record["options"] == {"pixel_size": 8, "method": "average", "regions": ["10,10,20,20", "0.5,0.5,0.25,0.25"],
                                 "faces": False}
    assert record["regions"] == [
        {"x": 10, "y": 10, "w": 20, "h": 20, "block": 8, "source": "manual"},
        {"x": 64, "y": 64, "w": 32, "h": 32, "block": 8, "source": "manual"},
    ]
    # the same regions again: nothing to do; other regions on the same content: done again
    assert run(events.s3(pipeline.originals, key)) == {"outcomes": ["skipped-already-done"]}
    pipeline.s3.copy_object(Bucket=pipeline.originals, Key=key, CopySource={"Bucket": pipeline.originals, "Key": key},
                            Metadata={"regions": "0,0,16,16", "pixel-size": "8"}, MetadataDirective="REPLACE")
    assert run(events.s3(pipeline.originals, key)) == {"outcomes": ["done"]}
    assert pipeline.status(key)["regions"] == [{"x": 0, "y": 0, "w": 16, "h": 16, "block": 8, "source": "manual"}]


# --- permanent failures ---


@pytest.mark.parametrize(
    "metadata,options",
    [
        ({"pixel-size": "abc"}, {"pixel_size": "abc", "method": "average", "regions": [], "faces": False}),
        ({"pixel-size": "1"}, {"pixel_size": 1, "method": "average", "regions": [], "faces": False}),
        ({"pixel-size": "513"}, {"pixel_size": 513, "method": "average", "regions": [], "faces": False}),
        ({"pixel-size": "16.5"}, {"pixel_size": "16.5", "method": "average", "regions": [], "faces": False}),
        ({"Method": "blur"}, {"pixel_size": 16, "method": "blur", "regions": [], "faces": False}),
        ({"regions": "10,10,20"}, {"pixel_size": 16, "method": "average", "regions": "10,10,20", "faces": False}),
        ({"regions": "0.5,10,20,20"}, {"pixel_size": 16, "method": "average", "regions": "0.5,10,20,20", "faces": False}),
        ({"regions": "500,500,10,10"}, {"pixel_size": 16, "method": "average", "regions": ["500,500,10,10"], "faces": False}),
        ({"faces": "maybe"}, {"pixel_size": 16, "method": "average", "regions": [], "faces": "maybe", "face_blocks": 8}),
    ],
)
def test_invalid_options_are_a_failed_status(pipeline, events, metadata, options):
    key = "options/bad.png"
    etag = pipeline.put(key, HOPPER, metadata=metadata)
    response = run(events.sqs(events.s3(pipeline.originals, key)))
    assert response == {"batchItemFailures": []}
    record = pipeline.status(key)
    assert record["state"] == "failed" and record["reason"] == "invalid-option"
    assert record["message"]
    assert record["output"] is None
    assert record["options"] == options
    assert record["source"]["version"] == pipeline.version(etag)
    assert pipeline.head_output(key) is None
    [note] = pipeline.notifications()
    assert note["MessageAttributes"]["reason"]["Value"] == "invalid-option"


def test_too_large_by_content_length_is_rejected_before_download(pipeline, events, monkeypatch):
    from pixelate.service import aws

    monkeypatch.setenv("PIXELATE_MAX_BYTES", "1000")
    gets = []
    hook = lambda params, **_: gets.append(params["Key"])  # noqa: E731
    aws.s3_client().meta.events.register("before-parameter-build.s3.GetObject", hook)
    try:
        pipeline.put("big.png", HOPPER)
        assert run(events.s3(pipeline.originals, "big.png")) == {"outcomes": ["failed"]}
    finally:
        aws.s3_client().meta.events.unregister("before-parameter-build.s3.GetObject", hook)
    record = pipeline.status("big.png")
    assert (record["state"], record["reason"]) == ("failed", "too-large")
    assert "big.png" not in gets  # the status read is the only GetObject, on the processed bucket
    assert gets == ["status/big.png.json"]


def test_empty_object_is_rejected(pipeline, events):
    pipeline.put("empty.png", b"")
    run(events.s3(pipeline.originals, "empty.png"))
    assert pipeline.status("empty.png")["reason"] == "empty"


# --- objects that are not there, and the service's own output ---


def test_a_deleted_source_is_skipped_not_retried(pipeline, events):
    event = events.sqs(events.s3(pipeline.originals, "gone.png", etag="0123"))
    assert run(event) == {"batchItemFailures": []}
    assert pipeline.processed_keys() == []
    assert pipeline.notifications() == []


@pytest.mark.parametrize("key", ["photo.png", "pixelated/photo.png", "status/photo.png.json"])
def test_recursion_guard(pipeline, events, key):
    pipeline.put(key, HOPPER, bucket=pipeline.processed)
    before = pipeline.processed_keys()
    assert run(events.s3(pipeline.processed, key)) == {"outcomes": ["skipped-recursion"]}
    assert pipeline.processed_keys() == before
    assert pipeline.notifications() == []


@pytest.mark.parametrize("folder", ["pixelated", "status"])
def test_folders_named_like_the_service_output_are_ordinary_in_the_originals(pipeline, events, folder):
    # a user's "status/2024/photo.png" used to be skipped with no status, and its client waited for one
    key = f"{folder}/2024/photo.png"
    pipeline.put(key, HOPPER)
    run(events.s3(pipeline.originals, key))
    assert pipeline.status(key)["state"] == "done"


# --- deletion of originals ---


def test_originals_are_deleted_after_a_confirmed_write(pipeline, events, monkeypatch):
    monkeypatch.setenv("DELETE_ORIGINALS", "true")
    etag = pipeline.put("delete/me.png", HOPPER)
    assert run(events.s3(pipeline.originals, "delete/me.png")) == {"outcomes": ["done"]}
    assert_done(pipeline, "delete/me.png", etag)
    assert pipeline.s3.list_objects_v2(Bucket=pipeline.originals).get("KeyCount") == 0
    # A duplicate event after the deletion finds nothing and does nothing.
    assert run(events.sqs(events.s3(pipeline.originals, "delete/me.png"))) == {"batchItemFailures": []}
    assert len(pipeline.notifications()) == 1


def test_originals_are_kept_by_default_and_on_failure(pipeline, events, monkeypatch):
    pipeline.put("keep.png", HOPPER)
    run(events.s3(pipeline.originals, "keep.png"))
    monkeypatch.setenv("DELETE_ORIGINALS", "true")
    pipeline.put("bad.png", b"garbage")
    run(events.s3(pipeline.originals, "bad.png"))
    keys = [o["Key"] for o in pipeline.s3.list_objects_v2(Bucket=pipeline.originals)["Contents"]]
    assert sorted(keys) == ["bad.png", "keep.png"]


# --- metrics ---


def emf_documents(text: str) -> list[dict]:
    """EMF documents printed to stdout, metric values as one list each (EMF allows a number or a list)."""
    docs = [doc for line in text.splitlines() if line.startswith("{") and "_aws" in (doc := json.loads(line))]
    for doc in docs:
        for metric in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            value = doc[metric["Name"]]
            doc[metric["Name"]] = value if isinstance(value, list) else [value]
    return docs


def test_metrics_are_emitted_as_emf(pipeline, events, capsys):
    pipeline.put("m/ok.png", HOPPER)
    pipeline.put("m/bad.png", b"\x89PNG\r\n\x1a\n broken")
    capsys.readouterr()
    run(events.s3(pipeline.originals, "m/ok.png", "m/bad.png"))
    docs = emf_documents(capsys.readouterr().out)
    by_name = {}
    for doc in docs:
        [directive] = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Pixelator"
        for metric in directive["Metrics"]:
            by_name.setdefault(metric["Name"], []).append((directive["Dimensions"], doc))
    assert set(by_name) == {"ImagesDone", "ProcessingMs", "InputMegapixels", "ImagesFailed"}
    [(dims, doc)] = [entry for entry in by_name["ImagesFailed"] if "reason" in entry[1]]
    assert dims == [["service", "reason"]] and doc["reason"] == "corrupt" and doc["ImagesFailed"] == [1]
    [(dims, doc)] = [entry for entry in by_name["ImagesDone"]]
    assert dims == [["service"]] and doc["ImagesDone"] == [1]
    assert doc["InputMegapixels"] == [pytest.approx(0.016, abs=0.001)] and len(doc["ProcessingMs"]) == 1
    assert "reason" not in doc  # the reason dimension does not leak onto the other metrics
    [(dims, doc)] = [entry for entry in by_name["ImagesFailed"] if "reason" not in entry[1]]
    assert dims == [["service"]] and doc["ImagesFailed"] == [1]  # the total, for an alarm


# --- no files ---


def test_nothing_is_written_to_the_filesystem(pipeline, events):
    """Lambda's /tmp is small and shared by invocations: bytes stay in memory. Any file opened for writing in
    the handler's thread fails the test (moto's server thread is left alone)."""
    import builtins
    import os
    import threading

    handler_thread = threading.get_ident()
    real_open, real_os_open = builtins.open, os.open
    writes = []

    def guarded_open(file, mode="r", *args, **kwargs):
        if threading.get_ident() == handler_thread and any(c in mode for c in "wax+"):
            writes.append(file)
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if threading.get_ident() == handler_thread and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            writes.append(path)
        return real_os_open(path, flags, *args, **kwargs)

    names = ["hopper.jpg", "multipage.tiff", "iss634.gif", "avif_transparency.avif", "broken.png"]
    for name in names:
        pipeline.put(name, (CORPUS / name).read_bytes())
    with pytest.MonkeyPatch.context() as guard:
        guard.setattr(builtins, "open", guarded_open)
        guard.setattr(os, "open", guarded_os_open)
        response = run(events.sqs(events.s3(pipeline.originals, *names)))
    assert response == {"batchItemFailures": []}
    assert writes == []
    assert [pipeline.status(name)["state"] for name in names] == ["done"] * 4 + ["failed"]


def test_a_record_too_long_for_sns_is_sent_without_its_regions_list(pipeline):
    from pixelate.service import status, store

    crowd = [{"x": i, "y": i, "w": 40, "h": 50, "block": 16, "source": "face", "score": 0.9, "frames": [i, i + 1]}
             for i in range(4000)]  # ~400 KB of boxes: SNS takes at most 256 KiB
    source = pipeline.source("crowd.gif", "x")
    record = status.done_record(source, {"pixel_size": 16}, {"key": "k", "frames": 4001}, 5, regions=crowd)
    store.notify(pipeline.topic_arn, record)
    small = status.done_record(source, {"pixel_size": 16}, {"key": "k", "frames": 2}, 5, regions=crowd[:2])
    store.notify(pipeline.topic_arn, small)
    sent = [json.loads(n["Message"]) for n in pipeline.notifications()]
    cut, whole = sorted(sent, key=lambda m: len(m["regions"]))
    assert cut == {**record, "regions": [], "regions_total": 4000}
    assert whole == small and "regions_total" not in whole  # a record that fits goes as it is


def test_the_lambda_cold_path_imports_no_numpy_or_onnxruntime_for_whole_images():
    """What the function imports before and while it pixelates whole images (JPEG, PNG, GIF, WebP) is what each
    cold start pays: numpy and onnxruntime only come with faces (or a GIF whose palette Pillow got wrong)."""
    import subprocess
    import sys

    from tests.support.paths import CORPUS

    code = (
        "import sys, pathlib\n"
        "import pixelate.service.handler\n"
        "from pixelate.image.pipeline import pixelate_bytes\n"
        f"for name in ('hopper.jpg', 'hopper.png', 'hopper.gif', 'hopper.webp'):\n"
        f"    pixelate_bytes((pathlib.Path({str(CORPUS)!r}) / name).read_bytes(), 16)\n"
        "heavy = [m for m in ('numpy', 'onnxruntime') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_record_written_before_versions_is_rewritten_without_the_bucket_and_the_md5(pipeline, events):
    """Records written until 2026-12-07 name the bucket and the original's ETag (public through status/): the next
    event for the object (or a backfill) processes it once more and writes a record without them."""
    from pixelate.service import status

    key = "old/photo.png"
    etag = pipeline.put(key, HOPPER)
    old = status.done_record({"bucket": pipeline.originals, "key": key, "etag": etag},
                             {"pixel_size": 16, "method": "average", "regions": [], "faces": False},
                             {"key": status.output_key(key)}, 5)
    pipeline.s3.put_object(Bucket=pipeline.processed, Key=status.status_key(key), Body=status.to_json(old))
    assert run(events.s3(pipeline.originals, key)) == {"outcomes": ["done"]}
    assert_done(pipeline, key, etag)
    assert run(events.s3(pipeline.originals, key)) == {"outcomes": ["skipped-already-done"]}
