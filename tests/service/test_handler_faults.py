"""Transient S3 faults: the record that hits one is reported back for redelivery, the others succeed, and
nothing is deleted or half-committed. Faults are injected with botocore event hooks on the handler's own
S3 client, the way the local runner injects them."""
from __future__ import annotations

import contextlib
import json

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from pixelate.service import aws, handler
from tests.support.paths import CORPUS

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

HOPPER = (CORPUS / "hopper.png").read_bytes()


def run(event):
    return handler.lambda_handler(event, None)


def slow_down(operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
         "ResponseMetadata": {"HTTPStatusCode": 503}},
        operation,
    )


@contextlib.contextmanager
def fault(operation: str, when, error):
    """Raise ``error(operation)`` from the handler's S3 client for calls of ``operation`` whose parameters
    satisfy ``when``; yields the list of parameters of the calls it failed."""
    failed = []

    def hook(params, **_):
        if when(params):
            failed.append(dict(params))
            raise error(operation)

    event_name = f"before-parameter-build.s3.{operation}"
    aws.s3_client().meta.events.register(event_name, hook)
    try:
        yield failed
    finally:
        aws.s3_client().meta.events.unregister(event_name, hook)


def test_one_record_with_an_s3_fault_is_the_only_failure(pipeline, events):
    keys = ["batch/a.png", "batch/b.png", "batch/c.png"]
    for key in keys:
        pipeline.put(key, HOPPER)
    ids = ["id-a", "id-b", "id-c"]
    event = events.sqs(*[events.s3(pipeline.originals, key) for key in keys], message_ids=ids)
    with fault("GetObject", lambda p: p.get("Key") == "batch/b.png", slow_down) as failed:
        response = run(event)
    assert failed
    assert response == {"batchItemFailures": [{"itemIdentifier": "id-b"}]}
    assert [pipeline.status(k)["state"] if pipeline.status(k) else None for k in keys] == ["done", None, "done"]
    assert len(pipeline.notifications()) == 2
    # Redelivered after the fault has passed, the message succeeds.
    assert run(events.sqs(events.s3(pipeline.originals, "batch/b.png"), message_ids=["id-b"])) == {"batchItemFailures": []}
    assert pipeline.status("batch/b.png")["state"] == "done"


@pytest.mark.parametrize(
    "operation,error",
    [
        ("HeadObject", slow_down),
        ("GetObject", lambda op: ClientError({"Error": {"Code": "InternalError", "Message": "x"},
                                              "ResponseMetadata": {"HTTPStatusCode": 500}}, op)),
        ("PutObject", lambda op: EndpointConnectionError(endpoint_url="http://s3.invalid")),
        ("HeadObject", lambda op: ClientError({"Error": {"Code": "AccessDenied", "Message": "x"},
                                               "ResponseMetadata": {"HTTPStatusCode": 403}}, op)),
    ],
)
def test_transient_faults_are_batch_item_failures(pipeline, events, operation, error):
    pipeline.put("t.png", HOPPER)
    with fault(operation, lambda p: True, error):
        response = run(events.sqs(events.s3(pipeline.originals, "t.png"), message_ids=["only"]))
    assert response == {"batchItemFailures": [{"itemIdentifier": "only"}]}
    assert pipeline.status("t.png") is None


def test_a_direct_invocation_raises_on_a_transient_fault(pipeline, events):
    pipeline.put("direct.png", HOPPER)
    with fault("GetObject", lambda p: p.get("Key") == "direct.png", slow_down), pytest.raises(ClientError):
        run(events.s3(pipeline.originals, "direct.png"))


def test_an_unrecognised_message_is_a_batch_item_failure(pipeline, events):
    """Not dropped: after the queue's maxReceiveCount it lands in the dead-letter queue to be looked at."""
    pipeline.put("fine.png", HOPPER)
    event = events.sqs("this is not json", events.s3(pipeline.originals, "fine.png"), message_ids=["junk", "fine"])
    assert run(event) == {"batchItemFailures": [{"itemIdentifier": "junk"}]}


def test_a_source_replaced_between_head_and_get_is_superseded_not_retried(pipeline, events):
    """head_object saw one version; the get pins it with IfMatch, so a replacement in between makes this job
    superseded: it stops at once, and the new version's own event does the work. (It used to fail back to the
    queue, where it was held for a whole visibility timeout: issue 18, item 16.)"""
    pipeline.put("race.png", HOPPER)

    def replace_first(params, **_):
        if params.get("Key") == "race.png" and "IfMatch" in params and not replaced:
            replaced.append(True)
            pipeline.s3.put_object(Bucket=pipeline.originals, Key="race.png", Body=HOPPER + b"\0")

    replaced = []
    aws.s3_client().meta.events.register("before-parameter-build.s3.GetObject", replace_first)
    try:
        response = run(events.sqs(events.s3(pipeline.originals, "race.png"), message_ids=["race"]))
    finally:
        aws.s3_client().meta.events.unregister("before-parameter-build.s3.GetObject", replace_first)
    assert replaced
    assert response == {"batchItemFailures": []}
    assert pipeline.status("race.png") is None
    # the new version's own event
    assert run(events.sqs(events.s3(pipeline.originals, "race.png"))) == {"batchItemFailures": []}
    new_etag = pipeline.s3.head_object(Bucket=pipeline.originals, Key="race.png")["ETag"].strip('"')
    assert pipeline.status("race.png")["source"]["version"] == pipeline.version(new_etag)


# --- deletion of originals only after a confirmed write ---


@pytest.mark.parametrize("failing_key", ["pixelated/del.png", "status/del.png.json"])
def test_no_deletion_when_a_write_fails(pipeline, events, monkeypatch, failing_key):
    monkeypatch.setenv("DELETE_ORIGINALS", "true")
    pipeline.put("del.png", HOPPER)
    with fault("PutObject", lambda p: p.get("Key") == failing_key, slow_down):
        response = run(events.sqs(events.s3(pipeline.originals, "del.png"), message_ids=["del"]))
    assert response == {"batchItemFailures": [{"itemIdentifier": "del"}]}
    assert pipeline.s3.head_object(Bucket=pipeline.originals, Key="del.png")
    assert pipeline.status("del.png") is None


def test_no_deletion_when_the_write_is_not_confirmed(pipeline, events, monkeypatch):
    """The confirming head_object of the output fails: the original stays, the message is retried, and the
    retry deletes once the output is confirmed."""
    monkeypatch.setenv("DELETE_ORIGINALS", "true")
    pipeline.put("confirm.png", HOPPER)
    # only the confirming head, once the output exists (the job reads the output's ETag before it too)
    confirming = lambda p: p.get("Key") == "pixelated/confirm.png" and pipeline.head_output("confirm.png") is not None  # noqa: E731
    with fault("HeadObject", confirming, slow_down) as failed:
        response = run(events.sqs(events.s3(pipeline.originals, "confirm.png"), message_ids=["c"]))
    assert failed
    assert response == {"batchItemFailures": [{"itemIdentifier": "c"}]}
    assert pipeline.status("confirm.png")["state"] == "done"
    assert pipeline.s3.head_object(Bucket=pipeline.originals, Key="confirm.png")
    assert run(events.sqs(events.s3(pipeline.originals, "confirm.png"))) == {"batchItemFailures": []}
    assert pipeline.s3.list_objects_v2(Bucket=pipeline.originals).get("KeyCount") == 0
    assert len(pipeline.notifications()) == 1


def test_a_failed_delete_is_retried(pipeline, events, monkeypatch):
    monkeypatch.setenv("DELETE_ORIGINALS", "true")
    pipeline.put("d2.png", HOPPER)
    with fault("DeleteObject", lambda p: True, slow_down):
        assert run(events.sqs(events.s3(pipeline.originals, "d2.png"), message_ids=["d"])) == {
            "batchItemFailures": [{"itemIdentifier": "d"}]
        }
    assert run(events.sqs(events.s3(pipeline.originals, "d2.png"))) == {"batchItemFailures": []}
    assert pipeline.s3.list_objects_v2(Bucket=pipeline.originals).get("KeyCount") == 0


def test_sns_failure_after_the_status_is_logged_not_retried(pipeline, events, capsys, caplog):
    """The status record is written before the notification: a publish that fails is logged with the key and
    counted, the job stays committed, and a redelivery does nothing more."""
    pipeline.put("n.png", HOPPER)

    def throttled(params, **_):
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "Publish")

    aws.sns_client().meta.events.register("before-parameter-build.sns.Publish", throttled)
    try:
        assert run(events.sqs(events.s3(pipeline.originals, "n.png"), message_ids=["n"])) == {"batchItemFailures": []}
    finally:
        aws.sns_client().meta.events.unregister("before-parameter-build.sns.Publish", throttled)
    assert pipeline.status("n.png")["state"] == "done"
    [line] = [r for r in caplog.records if r.getMessage() == "notification not sent; the status record is written"]
    assert line.key == "n.png" and "Throttling" in line.cause
    assert '"NotificationsFailed":[1.0]' in capsys.readouterr().out
    assert run(events.sqs(events.s3(pipeline.originals, "n.png"))) == {"batchItemFailures": []}
    assert pipeline.notifications() == []


def test_a_failing_status_write_sends_no_notification(pipeline, events):
    """Issue 18: SNS was told ``done`` before the status was written, so a status write that kept failing sent
    ``done`` once per delivery and left no status. Now nothing is sent until the status is written, and the
    delivery that writes it sends the one notification."""
    pipeline.put("s.png", HOPPER)
    with fault("PutObject", lambda p: p.get("Key") == "status/s.png.json", slow_down) as failed:
        for _ in range(3):
            assert run(events.sqs(events.s3(pipeline.originals, "s.png"), message_ids=["s"])) == {
                "batchItemFailures": [{"itemIdentifier": "s"}]
            }
    assert len(failed) == 3
    assert pipeline.notifications() == []
    assert run(events.sqs(events.s3(pipeline.originals, "s.png"))) == {"batchItemFailures": []}
    assert [json.loads(n["Message"])["state"] for n in pipeline.notifications()] == ["done"]
    assert pipeline.status("s.png")["state"] == "done"


@pytest.mark.parametrize("name,value", [("DEFAULT_PIXEL_SIZE", "0"), ("DEFAULT_METHOD", "blur"), ("PROCESSED_BUCKET", ""),
                                        ("SOURCE_VERSION_KEY", "")])
def test_a_bad_deployment_setting_fails_the_batch_for_the_dlq(pipeline, events, monkeypatch, name, value):
    """A broken configuration is no property of any image: no failed status, the messages go round to the DLQ."""
    monkeypatch.setenv(name, value)
    pipeline.put("cfg.png", HOPPER)
    assert run(events.sqs(events.s3(pipeline.originals, "cfg.png"), message_ids=["cfg"])) == {
        "batchItemFailures": [{"itemIdentifier": "cfg"}]
    }
    assert pipeline.status("cfg.png") is None
