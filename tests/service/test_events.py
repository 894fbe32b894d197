"""Events → jobs, and object metadata → options: pure parsing, no AWS."""
from __future__ import annotations

import json

import pytest

from pixelate.image.options import Options
from pixelate.service.events import (
    Job,
    UnrecognisedEvent,
    event_kind,
    jobs_from_event,
    jobs_from_message,
    options_from_metadata,
)
from tests.support.awkward_keys import KEYS


@pytest.mark.parametrize("key", KEYS)
def test_every_shape_gives_the_decoded_key(events, key):
    s3 = events.s3("src-bucket", key, etag="abc", size=7)
    expected = [Job("src-bucket", key, "abc", 7)]
    assert jobs_from_event(s3) == expected
    assert jobs_from_message(json.dumps(s3)) == expected
    assert jobs_from_event(events.sns(s3)) == expected
    assert jobs_from_message(json.dumps(events.sns_envelope(s3))) == expected
    assert jobs_from_event(events.eventbridge("src-bucket", key, etag="abc", size=7)) == expected
    assert jobs_from_message(json.dumps(events.eventbridge("src-bucket", key, etag="abc", size=7))) == expected


def test_event_kinds(events):
    s3 = events.s3("b", "k")
    assert event_kind(events.sqs(s3)) == "sqs"
    assert event_kind(s3) == "s3"
    assert event_kind(events.sns(s3)) == "sns"
    assert event_kind(events.eventbridge("b", "k")) == "eventbridge"
    assert event_kind(events.s3_test_event("b")) == "s3-test"
    assert event_kind({"hello": 1}) == event_kind([]) == "unknown"


def test_test_events_and_other_event_types_give_no_job(events):
    assert jobs_from_message(json.dumps(events.s3_test_event("b"))) == []
    assert jobs_from_event(events.s3("b", "k", event_name="ObjectRemoved:Delete")) == []
    assert jobs_from_event(events.eventbridge("b", "k", detail_type="Object Deleted")) == []
    assert jobs_from_event(events.sns(events.s3_test_event("b"))) == []


def test_several_records_in_one_notification(events):
    assert [job.key for job in jobs_from_event(events.s3("b", "one", "two"))] == ["one", "two"]


@pytest.mark.parametrize("body", ["not json", "[1, 2]", json.dumps({"Records": [{"eventSource": "aws:kinesis"}]}), "{}"])
def test_unrecognised_bodies_raise(body):
    with pytest.raises(UnrecognisedEvent):
        jobs_from_message(body)


def test_an_sqs_batch_is_not_a_direct_event(events):
    with pytest.raises(ValueError):
        jobs_from_event(events.sqs(events.s3("b", "k")))


def test_etag_quotes_are_dropped(events):
    assert jobs_from_event(events.s3("b", "k", etag='"abc"'))[0].etag == "abc"


# --- options in the metadata (the values themselves: tests/image/test_options.py) ---


DEFAULTS = Options(16, "average")


def test_options_default_and_case_insensitive_keys():
    assert options_from_metadata({}, DEFAULTS).options == Options(16, "average")
    assert options_from_metadata({"Pixel-Size": "8", "METHOD": " Nearest "}, DEFAULTS).options == Options(8, "nearest")


@pytest.mark.parametrize("metadata,record", [
    ({"pixel-size": "abc"}, {"pixel_size": "abc", "method": "average", "regions": [], "faces": False}),
    ({"pixel-size": "1000", "method": "blur"}, {"pixel_size": 1000, "method": "blur", "regions": [], "faces": False}),
    ({"pixel-size": " +16"}, {"pixel_size": "+16", "method": "average", "regions": [], "faces": False}),
    ({"pixel-size": "١٦"}, {"pixel_size": "١٦", "method": "average", "regions": [], "faces": False}),
    ({"face-blocks": "99"}, {"pixel_size": 16, "method": "average", "regions": [], "faces": False, "face_blocks": 99}),
])
def test_an_invalid_value_is_a_rejection_that_keeps_what_can_be_told(metadata, record):
    requested = options_from_metadata(metadata, DEFAULTS)
    assert requested.options is None
    assert requested.error.reason == "invalid-option"
    assert requested.record == record


def test_each_invalid_value_is_its_own_record_so_a_new_one_gets_its_own_answer():
    """The same bytes uploaded again with another invalid value must not be taken for work already done: the
    record kept null for every non-number pixel size and cut text at 64 characters, so the first message stayed."""
    long_start = ";".join(["1,1,2,2"] * 8)
    values = [{"pixel-size": "abc"}, {"pixel-size": "-8"}, {"regions": long_start + ";1,1,0,2"},
              {"regions": long_start + ";1,1,2,0"}, {"regions": ";".join(["1,1,2,2"] * 40) + ";x"},
              {"regions": ";".join(["1,1,2,2"] * 40) + ";y"}, {"faces": "maybe"}, {"faces": "perhaps"}]
    records = [options_from_metadata(metadata, DEFAULTS).record for metadata in values]
    assert all(options_from_metadata(metadata, DEFAULTS).error for metadata in values)
    assert len({json.dumps(record, sort_keys=True) for record in records}) == len(values)
    assert all(len(json.dumps(record)) < 600 for record in records)


def test_valid_metadata_records_the_parsed_options():
    requested = options_from_metadata({"pixel-size": "8"}, DEFAULTS)
    assert requested.error is None
    assert requested.record == {"pixel_size": 8, "method": "average", "regions": [], "faces": False}


def test_underscores_in_metadata_names_read_as_dashes_and_an_override_wins_over_either():
    # x-amz-meta-pixel_size used to be ignored: the photo came back at the default size, with nothing to say why
    requested = options_from_metadata({"Pixel_Size": "24", "face_blocks": "0", "faces": "yes"}, DEFAULTS)
    assert (requested.error, requested.options.pixel_size, requested.options.face_blocks) == (None, 24, 0)
    twice = options_from_metadata({"pixel_size": "24", "pixel-size": "8"}, DEFAULTS)
    assert twice.error.reason == "invalid-option" and "given twice" in twice.error.message
    assert options_from_metadata({"pixel_size": "8", "pixel-size": " 8"}, DEFAULTS).options.pixel_size == 8
    # another tool's own metadata under both spellings is none of the service's business
    assert options_from_metadata({"my_tag": "a", "my-tag": "b"}, DEFAULTS).error is None
    job = Job("b", "k", overrides={"pixel-size": "32"})
    assert options_from_metadata(job.requested_metadata({"pixel_size": "24"}), DEFAULTS).options.pixel_size == 32


@pytest.mark.parametrize("key", ["a+b (1).jpg", "dir/x+y+z.png", "100%+sure: yes.png", "plain.png"])
def test_only_s3_notification_keys_are_decoded(events, key):
    """Issue 18: EventBridge keys are raw, S3 notification keys quote_plus-encoded. Decoding the EventBridge key
    too turned ``a+b (1).jpg`` into ``a b (1).jpg``, which was then skipped as gone."""
    from urllib.parse import quote_plus

    assert events.eventbridge("b", key)["detail"]["object"]["key"] == key
    assert events.s3("b", key)["Records"][0]["s3"]["object"]["key"] == quote_plus(key)
    assert [job.key for job in jobs_from_event(events.eventbridge("b", key))] == [key]
    assert [job.key for job in jobs_from_event(events.s3("b", key))] == [key]
    assert [job.key for job in jobs_from_message(json.dumps(events.eventbridge("b", key)))] == [key]
