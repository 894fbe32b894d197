"""Backfill messages and S3 Batch Operations invocations → jobs: pure parsing, no AWS."""
from __future__ import annotations

import json
from urllib.parse import quote_plus

import pytest

from pixelate.image.options import Options
from pixelate.service.events import (
    BACKFILL_BATCH_SIZE,
    BACKFILL_SOURCE,
    Job,
    UnrecognisedEvent,
    backfill_batches,
    backfill_entry,
    backfill_message,
    batch_operations_tasks,
    event_kind,
    jobs_from_event,
    jobs_from_message,
    options_from_metadata,
)
from tests.support.awkward_keys import KEYS

DEFAULTS = Options(16, "average")


def test_the_documented_message_shape():
    """The contract the README and the state machine state, written out by hand."""
    body = '{"source":"pixelator.backfill","bucket":"originals","key":"a b+c.png","options":{"pixel-size":"24"}}'
    assert jobs_from_message(body) == [Job("originals", "a b+c.png", overrides={"pixel-size": "24"})]
    assert json.loads(body) == backfill_message("originals", "a b+c.png", {"pixel-size": "24"})
    assert BACKFILL_SOURCE == "pixelator.backfill"


@pytest.mark.parametrize("key", KEYS)
def test_keys_travel_as_stored_never_encoded(key):
    entry = backfill_entry(7, "originals", key, {"method": "nearest"})
    assert entry["Id"] == "7"
    assert jobs_from_message(entry["MessageBody"]) == [Job("originals", key, overrides={"method": "nearest"})]


def test_bodies_are_compact_json_with_unicode_as_is():
    body = backfill_entry(0, "b", "日本.png")["MessageBody"]
    assert " " not in body and "日本" in body
    assert json.loads(body)["options"] == {}


def test_a_backfill_body_is_its_own_kind_and_goes_through_an_sqs_batch(events):
    body = backfill_message("b", "k.png", {"pixel-size": "8"})
    assert event_kind(body) == "backfill"
    assert jobs_from_event(body) == [Job("b", "k.png", overrides={"pixel-size": "8"})]
    assert event_kind(events.sqs(body)) == "sqs"


def test_option_keys_are_lowercased_and_missing_options_mean_none():
    assert jobs_from_message({"source": BACKFILL_SOURCE, "bucket": "b", "key": "k", "options": {"Pixel-Size": "8"}}) == [
        Job("b", "k", overrides={"pixel-size": "8"})]
    assert jobs_from_message({"source": BACKFILL_SOURCE, "bucket": "b", "key": "k"}) == [Job("b", "k")]


@pytest.mark.parametrize("body", [
    {"source": BACKFILL_SOURCE, "bucket": "b"},
    {"source": BACKFILL_SOURCE, "key": "k"},
    {"source": BACKFILL_SOURCE, "bucket": "", "key": "k"},
    {"source": BACKFILL_SOURCE, "bucket": "b", "key": 7},
    {"source": BACKFILL_SOURCE, "bucket": "b", "key": "k", "options": ["pixel-size", "8"]},
    {"source": BACKFILL_SOURCE, "bucket": "b", "key": "k", "options": {"pixel-size": 8}},
    {"source": BACKFILL_SOURCE, "bucket": "b", "key": "k", "options": {"": "8"}},
    {"source": BACKFILL_SOURCE, "bucket": "b", "key": "k", "options": {f"o{i}": "x" for i in range(11)}},
])
def test_a_malformed_backfill_message_is_unrecognised(body):
    with pytest.raises(UnrecognisedEvent):
        jobs_from_message(json.dumps(body))


def test_batches_of_ten_indexed_across_the_listing():
    keys = [f"k{i}.png" for i in range(23)]
    batches = list(backfill_batches("b", keys, {"method": "nearest"}, start=100))
    assert [len(b) for b in batches] == [BACKFILL_BATCH_SIZE, BACKFILL_BATCH_SIZE, 3] and BACKFILL_BATCH_SIZE == 10
    assert [e["Id"] for b in batches for e in b] == [str(i) for i in range(100, 123)]
    assert [jobs_from_message(e["MessageBody"])[0].key for b in batches for e in b] == keys
    assert list(backfill_batches("b", [])) == []


def test_overrides_go_over_the_object_metadata_and_are_parsed_with_it():
    job = Job("b", "k", overrides={"pixel-size": "24"})
    merged = job.requested_metadata({"Pixel-Size": "8", "method": "nearest"})
    assert merged == {"pixel-size": "24", "method": "nearest"}
    assert options_from_metadata(merged, DEFAULTS).options == Options(24, "nearest")
    assert Job("b", "k").requested_metadata({"method": "nearest"}) == {"method": "nearest"}


def test_the_parser_ignores_an_option_it_does_not_know_yet():
    """Overrides for options the parser learns later must not break it meanwhile."""
    known = options_from_metadata({"pixel-size": "24"}, DEFAULTS)
    with_unknown = options_from_metadata({"pixel-size": "24", "x-future-option": "true"}, DEFAULTS)
    assert with_unknown == known


def test_an_invalid_override_is_a_rejection_like_invalid_metadata():
    job = Job("b", "k", overrides={"pixel-size": "1"})
    requested = options_from_metadata(job.requested_metadata({}), DEFAULTS)
    assert requested.error is not None and requested.error.reason == "invalid-option"
    assert requested.record == {"pixel_size": 1, "method": "average", "regions": [], "faces": False}


def test_faces_and_regions_overrides_reach_the_options():
    job = Job("b", "k", overrides={"faces": "true", "face-blocks": "12", "regions": "0,0,10,10"})
    requested = options_from_metadata(job.requested_metadata({"pixel-size": "24"}), DEFAULTS)
    assert requested.error is None
    assert (requested.options.pixel_size, requested.options.faces, requested.options.face_blocks) == (24, True, 12)
    assert [region.as_text() for region in requested.options.regions] == ["0,0,10,10"]


# --- S3 Batch Operations ---


@pytest.mark.parametrize("schema", ["1.0", "2.0"])
@pytest.mark.parametrize("key", KEYS)
def test_batch_operations_keys_are_decoded_in_both_schemas(events, schema, key):
    invocation = batch_operations_tasks(events.batch_operations("originals", key, schema=schema))
    assert invocation.schema_version == schema
    assert invocation.invocation_id == "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo"
    [task] = invocation.tasks
    assert (task.task_id, task.job, task.problem) == ("task-0", Job("originals", key), None)


def test_batch_operations_user_arguments_are_option_overrides(events):
    event = events.batch_operations("b", "x.png", "y.png", schema="2.0", user_arguments={"Pixel-Size": "32"})
    assert [t.job for t in batch_operations_tasks(event).tasks] == [
        Job("b", "x.png", overrides={"pixel-size": "32"}), Job("b", "y.png", overrides={"pixel-size": "32"})]


def test_the_aws_documented_batch_operations_event():
    """The example event of the Lambda developer guide (schema 1.0), as printed there."""
    event = {"invocationSchemaVersion": "1.0", "invocationId": "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo",
             "job": {"id": "f3cc4f60-61f6-4a2b-8a21-d07600c373ce"},
             "tasks": [{"taskId": "dGFza2lkZ29lc2hlcmUK", "s3Key": "customerImage1.jpg", "s3VersionId": "1",
                        "s3BucketArn": "arn:aws:s3:::amzn-s3-demo-bucket"}]}
    assert event_kind(event) == "s3-batch-operations"
    [task] = batch_operations_tasks(event).tasks
    assert task.job == Job("amzn-s3-demo-bucket", "customerImage1.jpg")
    with pytest.raises(ValueError):
        jobs_from_event(event)


def test_a_task_without_an_object_has_a_problem_and_the_others_a_job(events):
    event = events.batch_operations("b", "good.png", "other.png")
    del event["tasks"][1]["s3Key"]
    good, bad = batch_operations_tasks(event).tasks
    assert good.job == Job("b", "good.png")
    assert bad.job is None and "s3Key" in bad.problem and bad.task_id == "task-1"


def test_user_arguments_that_are_not_string_pairs_give_every_task_a_problem(events):
    event = events.batch_operations("b", "a.png", schema="2.0")
    event["job"]["userArguments"] = {"pixel-size": 24}
    [task] = batch_operations_tasks(event).tasks
    assert task.job is None and "string pairs" in task.problem


def test_encoded_keys_decode_once(events):
    """A real "+" reaches the handler as %2B and is decoded once; a literal %2B in a key arrives as %252B."""
    key = "a+b %2B.png"
    assert quote_plus(key) == "a%2Bb+%252B.png"
    [task] = batch_operations_tasks(events.batch_operations("b", key)).tasks
    assert task.job.key == key
