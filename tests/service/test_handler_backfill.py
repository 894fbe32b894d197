"""Backfill messages and S3 Batch Operations invocations through the processing handler, against moto's server:
overrides over metadata, idempotency (a re-sent message for finished work writes nothing and notifies no one),
partial batch failure, and a result per Batch Operations task."""
from __future__ import annotations

import pytest

from pixelate.service import handler
from tests.service.test_handler_faults import fault, slow_down
from tests.support.awkward_keys import KEYS
from tests.support.paths import CORPUS

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

HOPPER = (CORPUS / "hopper.png").read_bytes()
BROKEN = (CORPUS / "broken.png").read_bytes()


def run(event):
    return handler.lambda_handler(event, None)


def status_object(pipeline, key):
    head = pipeline.s3.head_object(Bucket=pipeline.processed, Key=f"status/{key}.json")
    return head["ETag"], head["LastModified"]


# --- backfill messages ---


@pytest.mark.parametrize("key", KEYS)
def test_a_backfill_message_pixelates_with_its_overrides(pipeline, events, key):
    etag = pipeline.put(key, HOPPER, metadata={"pixel-size": "8", "method": "nearest"})
    response = run(events.sqs(events.backfill(pipeline.originals, key, {"pixel-size": "24"})))
    assert response == {"batchItemFailures": []}
    record = pipeline.status(key)
    assert record["state"] == "done"
    assert record["source"] == pipeline.source(key, etag)
    # the override wins, the object's own method stays
    assert record["options"] == {"pixel_size": 24, "method": "nearest", "regions": [], "faces": False}
    assert pipeline.head_output(key)["Metadata"] == {"source-version": pipeline.version(etag), "pixel-size": "24", "method": "nearest"}


def test_without_overrides_the_object_metadata_and_defaults_apply(pipeline, events):
    pipeline.put("own.png", HOPPER, metadata={"method": "nearest"})
    run(events.sqs(events.backfill(pipeline.originals, "own.png")))
    assert pipeline.status("own.png")["options"] == {"pixel_size": 16, "method": "nearest", "regions": [], "faces": False}


def test_work_already_done_for_the_same_etag_and_options_is_not_redone(pipeline, events):
    """Upload processed at 16; a backfill at 16 is a no-op; a backfill at 24 redoes it; re-sent, a no-op again."""
    key = "done-before.png"
    pipeline.put(key, HOPPER)
    run(events.s3(pipeline.originals, key))
    assert len(pipeline.notifications()) == 1
    first = status_object(pipeline, key)

    assert run(events.sqs(events.backfill(pipeline.originals, key, {"pixel-size": "16"}))) == {"batchItemFailures": []}
    assert status_object(pipeline, key) == first and pipeline.notifications() == []

    run(events.sqs(events.backfill(pipeline.originals, key, {"pixel-size": "24"})))
    second = status_object(pipeline, key)
    assert second != first and pipeline.status(key)["options"]["pixel_size"] == 24
    assert len(pipeline.notifications()) == 1

    resent = events.backfill(pipeline.originals, key, {"pixel-size": "24"})
    assert run(events.sqs(resent, resent)) == {"batchItemFailures": []}
    assert run(resent) == {"outcomes": ["skipped-already-done"]}
    assert status_object(pipeline, key) == second
    assert pipeline.notifications() == []


def test_a_backfill_at_a_new_size_redoes_an_upload_slot_s_own_version(pipeline, events):
    """An upload slot refuses a second version, not its own version again with new options: a backfill of the
    whole bucket at a new size waited forever on every upload (skipped as a reused slot, counted as one)."""
    key = f"uploads/{'b' * 32}/photo.png"
    pipeline.put(key, HOPPER)
    run(events.s3(pipeline.originals, key))
    assert run(events.backfill(pipeline.originals, key, {"pixel-size": "24"})) == {"outcomes": ["done"]}
    assert pipeline.status(key)["options"]["pixel_size"] == 24
    assert len(pipeline.notifications()) == 2


def test_a_failure_is_not_redone_either(pipeline, events):
    pipeline.put("broken.png", BROKEN)
    message = events.backfill(pipeline.originals, "broken.png", {"pixel-size": "24"})
    assert run(message) == {"outcomes": ["failed"]}
    record = pipeline.status("broken.png")
    assert (record["state"], record["reason"], record["options"]["pixel_size"]) == ("failed", "corrupt", 24)
    assert run(message) == {"outcomes": ["skipped-already-done"]}
    assert len(pipeline.notifications()) == 1


def test_an_invalid_override_ends_failed_with_invalid_option(pipeline, events):
    pipeline.put("opt.png", HOPPER)
    run(events.sqs(events.backfill(pipeline.originals, "opt.png", {"method": "blur"})))
    record = pipeline.status("opt.png")
    assert (record["state"], record["reason"]) == ("failed", "invalid-option")
    assert record["options"] == {"pixel_size": 16, "method": "blur", "regions": [], "faces": False}


def test_partial_batch_failure_is_unchanged(pipeline, events):
    for key in ("p/a.png", "p/b.png"):
        pipeline.put(key, HOPPER)
    malformed = {"source": "pixelator.backfill", "bucket": pipeline.originals}
    event = events.sqs(events.backfill(pipeline.originals, "p/a.png"), malformed,
                       events.backfill(pipeline.originals, "p/b.png"), message_ids=["a", "bad", "b"])
    with fault("GetObject", lambda p: p.get("Key") == "p/b.png", slow_down):
        response = run(event)
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad"}, {"itemIdentifier": "b"}]}
    assert pipeline.status("p/a.png")["state"] == "done" and pipeline.status("p/b.png") is None


def test_a_backfill_message_naming_the_service_output_is_skipped(pipeline, events):
    pipeline.put("x.png", HOPPER)
    run(events.s3(pipeline.originals, "x.png"))
    assert run(events.backfill(pipeline.processed, "pixelated/x.png")) == {"outcomes": ["skipped-recursion"]}


# --- S3 Batch Operations ---


@pytest.mark.parametrize("schema", ["1.0", "2.0"])
def test_batch_operations_answer_a_result_per_task(pipeline, events, schema):
    keys = ["bo/with space+plus.png", "bo/broken.png", "bo/gone.png"]
    pipeline.put(keys[0], HOPPER)
    pipeline.put(keys[1], BROKEN)
    event = events.batch_operations(pipeline.originals, *keys, schema=schema, task_ids=["t0", "t1", "t2"])
    response = run(event)
    assert response == {
        "invocationSchemaVersion": schema,
        "treatMissingKeysAs": "PermanentFailure",
        "invocationId": event["invocationId"],
        "results": [
            {"taskId": "t0", "resultCode": "Succeeded", "resultString": f"done: pixelated/{keys[0]}"},
            {"taskId": "t1", "resultCode": "PermanentFailure", "resultString": response["results"][1]["resultString"]},
            {"taskId": "t2", "resultCode": "PermanentFailure",
             "resultString": f"gone: s3://{pipeline.originals}/{keys[2]} no longer exists"},
        ],
    }
    assert response["results"][1]["resultString"].startswith("corrupt: ")
    assert pipeline.status(keys[0])["state"] == "done" and pipeline.status(keys[1])["reason"] == "corrupt"


def test_batch_operations_repeated_answer_the_same_and_write_nothing(pipeline, events):
    pipeline.put("again.png", HOPPER)
    pipeline.put("again-bad.png", BROKEN)
    event = events.batch_operations(pipeline.originals, "again.png", "again-bad.png")
    first = run(event)
    before = [status_object(pipeline, k) for k in ("again.png", "again-bad.png")]
    assert len(pipeline.notifications()) == 2
    assert run(event) == first
    assert [status_object(pipeline, k) for k in ("again.png", "again-bad.png")] == before
    assert pipeline.notifications() == []


def test_batch_operations_user_arguments_override_options(pipeline, events):
    pipeline.put("args.png", HOPPER, metadata={"pixel-size": "8"})
    response = run(events.batch_operations(pipeline.originals, "args.png", schema="2.0",
                                           user_arguments={"pixel-size": "32", "method": "nearest"}))
    assert response["results"][0]["resultCode"] == "Succeeded"
    assert pipeline.status("args.png")["options"] == {"pixel_size": 32, "method": "nearest", "regions": [], "faces": False}


def test_batch_operations_transient_errors_are_temporary_failures(pipeline, events, capsys):
    pipeline.put("flaky.png", HOPPER)
    with fault("GetObject", lambda p: p.get("Key") == "flaky.png", slow_down) as failed:
        response = run(events.batch_operations(pipeline.originals, "flaky.png"))
    assert failed
    # counted for the TransientFailures alarm, as on the SQS path (Lambda's Errors never sees them)
    assert '"TransientFailures":[1.0]' in capsys.readouterr().out
    [result] = response["results"]
    assert result["resultCode"] == "TemporaryFailure" and result["resultString"].startswith("transient: ClientError")
    assert pipeline.status("flaky.png") is None
    assert run(events.batch_operations(pipeline.originals, "flaky.png"))["results"][0]["resultCode"] == "Succeeded"


def test_batch_operations_own_output_and_unnamed_tasks_are_permanent(pipeline, events):
    event = events.batch_operations(pipeline.processed, "pixelated/x.png", "y.png")
    del event["tasks"][1]["s3Key"]
    own, unnamed = run(event)["results"]
    assert own["resultCode"] == unnamed["resultCode"] == "PermanentFailure"
    assert own["resultString"].startswith("own-output: ") and unnamed["resultString"].startswith("unrecognised-task: ")


def test_batch_operations_with_a_broken_setting_are_temporary(pipeline, events, monkeypatch):
    pipeline.put("conf.png", HOPPER)
    monkeypatch.setenv("DEFAULT_PIXEL_SIZE", "huge")
    [result] = run(events.batch_operations(pipeline.originals, "conf.png"))["results"]
    assert result["resultCode"] == "TemporaryFailure" and result["resultString"].startswith("misconfigured: ")
    assert pipeline.status("conf.png") is None
