"""Versions of one key racing, upload slots used twice, the invocation's deadline, and what a failed record
leaves in the logs (issue 18). Faults and races are made with botocore event hooks on the handler's own S3
client, as in test_handler_faults.py."""
from __future__ import annotations

import json
import threading
import uuid

import pytest
from botocore.exceptions import ClientError

from pixelate.image.encode import CONTENT_TYPES
from pixelate.service import aws, handler, store, workflow
from pixelate.service.deadline import Deadline
from tests.support.paths import CORPUS

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

HOPPER = (CORPUS / "hopper.png").read_bytes()
HOPPER_JPEG = (CORPUS / "hopper.jpg").read_bytes()


def run(event, context=None):
    return handler.lambda_handler(event, context)


def hooked(operation: str, hook):
    """Register ``hook`` before ``operation``'s parameters are built on the handler's S3 client; returns the
    function that unregisters it."""
    name = f"before-parameter-build.s3.{operation}"
    aws.s3_client().meta.events.register(name, hook)
    return lambda: aws.s3_client().meta.events.unregister(name, hook)


# --- an older version never lands last ---------------------------------------------------------------------


def test_an_older_version_cannot_land_after_a_newer_one(pipeline, events):
    """The job of version 1 is slow: while it pixelates, version 2 is uploaded and fully processed. Version 1's
    writes come last in time, but they are conditional on what was there when its job started, so they lose,
    version 1's job stops as superseded, and the status and output stay version 2's."""
    v1 = pipeline.put("race/photo.png", HOPPER)
    state = {"raced": False}

    def newer_version_meanwhile(params, **_):
        if params.get("Key") == "pixelated/race/photo.png" and not state["raced"]:
            state["raced"] = True
            v2 = pipeline.put("race/photo.png", HOPPER_JPEG)
            state["v2"] = v2
            # version 2's own event, handled to the end before version 1's job goes on
            assert run(events.sqs(events.s3(pipeline.originals, "race/photo.png"))) == {"batchItemFailures": []}

    unregister = hooked("PutObject", newer_version_meanwhile)
    try:
        outcome = run(events.s3(pipeline.originals, "race/photo.png", etag=v1))
    finally:
        unregister()
    assert state["raced"]
    record = pipeline.status("race/photo.png")
    assert record["source"]["version"] == pipeline.version(state["v2"])
    assert record["output"]["content_type"] == "image/jpeg"
    assert pipeline.head_output("race/photo.png")["Metadata"]["source-version"] == pipeline.version(state["v2"])
    assert outcome == {"outcomes": ["skipped-superseded"]}  # version 2's own event did the work
    assert len(pipeline.notifications()) == 1


def test_status_and_output_writes_carry_their_condition(pipeline, events):
    pipeline.put("cond.png", HOPPER)
    seen = []
    unregister = hooked("PutObject", lambda params, **_: seen.append((params["Key"], params.get("IfNoneMatch"), params.get("IfMatch"))))
    try:
        run(events.s3(pipeline.originals, "cond.png"))
        pipeline.put("cond.png", HOPPER + b"\0")
        run(events.s3(pipeline.originals, "cond.png"))
    finally:
        unregister()
    first, second = seen[:2], seen[2:]
    assert first == [("pixelated/cond.png", "*", None), ("status/cond.png.json", "*", None)]
    assert [(key, none) for key, none, _ in second] == [("pixelated/cond.png", None), ("status/cond.png.json", None)]
    assert all(match and match.startswith('"') for _, _, match in second)


def test_a_job_whose_version_is_current_starts_over_and_wins(pipeline, events):
    """Another job (a duplicate event of the same version) writes the status first: this one starts over, finds
    the same work done, and stops; one notification in all."""
    etag = pipeline.put("dup.png", HOPPER)
    state = {"raced": False}

    def duplicate_meanwhile(params, **_):
        if params.get("Key") == "status/dup.png.json" and not state["raced"]:
            state["raced"] = True
            assert run(events.s3(pipeline.originals, "dup.png")) == {"outcomes": ["done"]}

    unregister = hooked("PutObject", duplicate_meanwhile)
    try:
        assert run(events.sqs(events.s3(pipeline.originals, "dup.png"), message_ids=["dup"])) == {"batchItemFailures": []}
    finally:
        unregister()
    assert pipeline.status("dup.png")["source"]["version"] == pipeline.version(etag)
    assert len(pipeline.notifications()) == 1


def test_losing_every_time_with_the_version_current_is_transient(pipeline, events):
    pipeline.put("lost.png", HOPPER)

    def someone_else_writes_first(params, **_):
        if params.get("Key") == "status/lost.png.json":
            body = json.dumps({"written-by": "another worker", "nonce": uuid.uuid4().hex}).encode()
            pipeline.s3.put_object(Bucket=pipeline.processed, Key="status/lost.png.json", Body=body)

    unregister = hooked("PutObject", someone_else_writes_first)
    try:
        response = run(events.sqs(events.s3(pipeline.originals, "lost.png"), message_ids=["lost"]))
    finally:
        unregister()
    assert response == {"batchItemFailures": [{"itemIdentifier": "lost"}]}
    assert pipeline.notifications() == []


def test_a_missing_output_that_s3_answers_403_is_none_yet(pipeline, events):
    """On AWS the pixelate role may read pixelated/* but not list it, so a missing output answers 403, not 404:
    that is "none yet", not a transient failure that would send every new image to the dead-letter queue."""
    from botocore.exceptions import ClientError

    def forbidden(params, **_):
        if params.get("Key", "").startswith("pixelated/"):
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}, "ResponseMetadata": {"HTTPStatusCode": 403}},
                              "HeadObject")

    pipeline.put("fresh/photo.png", HOPPER)
    unregister = hooked("HeadObject", forbidden)
    try:
        assert run(events.s3(pipeline.originals, "fresh/photo.png")) == {"outcomes": ["done"]}
    finally:
        unregister()
    assert pipeline.status("fresh/photo.png")["state"] == "done"


def test_write_conditions():
    assert store.write_condition(None) == {"IfNoneMatch": "*"}
    assert store.write_condition("abc") == {"IfMatch": '"abc"'}


# --- an upload slot keeps its first result ------------------------------------------------------------------


def test_a_second_version_through_an_upload_slot_is_ignored(pipeline, events, caplog, capsys):
    key = f"uploads/{'a' * 32}/photo.png"
    first = pipeline.put(key, HOPPER)
    assert run(events.s3(pipeline.originals, key)) == {"outcomes": ["done"]}
    pipeline.put(key, HOPPER_JPEG)  # the same presigned POST used again
    assert run(events.s3(pipeline.originals, key)) == {"outcomes": ["skipped-reused-upload"]}
    record = pipeline.status(key)
    assert record["state"] == "done" and record["source"]["version"] == pipeline.version(first)
    assert pipeline.head_output(key)["Metadata"]["source-version"] == pipeline.version(first)
    assert len(pipeline.notifications()) == 1
    [line] = [r for r in caplog.records if "upload slot" in r.getMessage()]
    assert line.key == key and line.result_source == pipeline.source(key, first)
    assert '"UploadsReused":[1.0]' in capsys.readouterr().out


def test_outside_upload_slots_a_changed_object_is_still_processed_again(pipeline, events):
    pipeline.put("holiday/photo.png", HOPPER)
    run(events.s3(pipeline.originals, "holiday/photo.png"))
    second = pipeline.put("holiday/photo.png", HOPPER_JPEG)
    assert run(events.s3(pipeline.originals, "holiday/photo.png")) == {"outcomes": ["done"]}
    assert pipeline.status("holiday/photo.png")["source"]["version"] == pipeline.version(second)


# --- the invocation's deadline ----------------------------------------------------------------------------


class Clock:
    """A Lambda context whose remaining time the test sets: ``remaining_ms`` at first, ``later_ms`` (if given)
    from the second reading on."""

    def __init__(self, remaining_ms: int, later_ms: int | None = None):
        self.remaining_ms, self.later_ms, self.readings = remaining_ms, later_ms, 0

    def get_remaining_time_in_millis(self) -> int:
        self.readings += 1
        return self.remaining_ms if self.later_ms is None or self.readings == 1 else self.later_ms


def test_a_job_still_running_near_the_timeout_gets_a_timeout_status(pipeline, events, capsys):
    """The watchdog fires ``margin`` before the end; the get is held until it has written the status, as a
    slow decode would be (no timing in the assertion: the hold ends when the status exists)."""
    pipeline.put("slow.png", HOPPER)
    written = threading.Event()

    def hold_until_the_watchdog_wrote(params, **_):
        if params.get("Key") == "slow.png":
            for _ in range(300):
                if pipeline.status("slow.png") is not None:
                    written.set()
                    return
                threading.Event().wait(0.1)

    clock = Clock(remaining_ms=10_000)  # margin: 2 s (a fifth); the watchdog fires 8 s after the job starts
    deadline = Deadline(clock)
    clock.remaining_ms = deadline.margin_ms * 2 + 50  # just enough to start; the watchdog fires after ~1 s
    unregister = hooked("GetObject", hold_until_the_watchdog_wrote)
    try:
        outcome = workflow.process_job(events_job(pipeline, "slow.png"), config(), aws.s3_client(), aws.sns_client(), deadline)
    finally:
        unregister()
    assert written.is_set()
    assert outcome == "timeout"
    record = pipeline.status("slow.png")
    assert (record["state"], record["reason"]) == ("failed", "timeout")
    assert pipeline.head_output("slow.png") is None  # the work stops once the job is ended
    [notification] = pipeline.notifications()
    assert notification["MessageAttributes"]["reason"]["Value"] == "timeout"
    # a redelivery (the invocation was ended on AWS) finds the job committed
    assert run(events.s3(pipeline.originals, "slow.png")) == {"outcomes": ["skipped-already-done"]}


def test_no_job_starts_with_too_little_time_left(pipeline, events):
    pipeline.put("late.png", HOPPER)
    # a whole minute when the invocation starts (margin 3 s), 5 s when this record's turn comes
    response = run(events.sqs(events.s3(pipeline.originals, "late.png"), message_ids=["late"]), Clock(60_000, later_ms=5_000))
    assert response == {"batchItemFailures": [{"itemIdentifier": "late"}]}
    assert pipeline.status("late.png") is None


def test_the_margin_is_a_fifth_of_a_short_invocation():
    assert Deadline(Clock(5_000)).margin_ms == 1_000
    assert Deadline(Clock(60_000)).margin_ms == 3_000
    assert Deadline(None).remaining_ms() is None


def events_job(pipeline, key):
    from pixelate.service.events import Job

    return Job(pipeline.originals, key)


def config():
    from pixelate.service.config import HandlerConfig

    return HandlerConfig.from_env()


# --- failed records are logged with their key and cause -------------------------------------------------


def test_a_failed_record_is_logged_with_its_key_and_cause_and_counted(pipeline, events, caplog, capsys):
    pipeline.put("t/a+b (1).png", HOPPER)

    def unavailable(params, **_):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
                           "ResponseMetadata": {"HTTPStatusCode": 503}}, "GetObject")

    unregister = hooked("GetObject", unavailable)
    try:
        response = run(events.sqs(events.s3(pipeline.originals, "t/a+b (1).png"), message_ids=["m1"]))
    finally:
        unregister()
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    [line] = [r for r in caplog.records if r.getMessage() == "record failed: left on the queue for redelivery"]
    assert line.levelname == "ERROR"
    assert line.keys == ["t/a+b (1).png"] and line.message_id == "m1"
    assert "SlowDown" in line.cause
    assert '"TransientFailures":[1.0]' in capsys.readouterr().out


# --- outputs are images, whatever asks -----------------------------------------------------------------------


def test_outputs_are_written_only_as_image_types(pipeline):
    assert store.OUTPUT_CONTENT_TYPES == set(CONTENT_TYPES.values())
    for unsafe in ("text/html", "image/svg+xml", "application/javascript", "text/html; charset=utf-8", ""):
        with pytest.raises(store.UnsafeContentType):
            store.put_output(pipeline.processed, "pixelated/x.png", b"<script>", unsafe, {}, aws.s3_client())
    assert pipeline.processed_keys() == []


def test_a_result_is_never_served_as_html(pipeline, events):
    """Even an image whose bytes look like HTML comes back with an image type (from the decoded format)."""
    polyglot = HOPPER + b"<html><script>alert(1)</script></html>"
    pipeline.put("poly.html", polyglot)
    run(events.s3(pipeline.originals, "poly.html"))
    assert pipeline.head_output("poly.html")["ContentType"] == "image/png"
    assert json.loads(json.dumps(pipeline.status("poly.html")))["output"]["content_type"] == "image/png"
