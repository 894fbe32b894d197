"""The status record's source: a version of the original that gives out neither its MD5 nor the bucket's name."""
from __future__ import annotations

import hashlib

from pixelate.service import status

OPTIONS = {"pixel_size": 16, "method": "average", "regions": [], "faces": False}
ETAG = hashlib.md5(b"the original").hexdigest()  # a single-part upload's ETag


def test_the_source_names_a_keyed_version_of_the_original_not_its_md5_or_bucket():
    source = status.source_of("holiday/photo.jpg", ETAG, "stack-a")
    assert set(source) == {"key", "version"} and source["key"] == "holiday/photo.jpg"
    assert len(source["version"]) == 32 and int(source["version"], 16) >= 0 and ETAG not in source["version"]
    assert source == status.source_of("holiday/photo.jpg", ETAG, "stack-a")  # the same version: the same name
    assert source["version"] != status.source_version(ETAG, "stack-b")  # not to be checked without the key
    assert source["version"] != status.source_version(hashlib.md5(b"another").hexdigest(), "stack-a")


def test_the_same_work_is_the_same_version_and_options_under_the_same_key():
    record = status.done_record(status.source_of("k", ETAG, "stack-a"), OPTIONS, {"key": "pixelated/k"}, 5)
    assert status.is_same_work(record, ETAG, OPTIONS, "stack-a")
    assert not status.is_same_work(record, "another-etag", OPTIONS, "stack-a")
    assert not status.is_same_work(record, ETAG, {**OPTIONS, "pixel_size": 24}, "stack-a")
    assert not status.is_same_work(record, ETAG, OPTIONS, "stack-b")
    assert not status.is_same_work({**record, "state": "pending"}, ETAG, OPTIONS, "stack-a")


def test_a_record_written_before_versions_is_the_work_once_more_and_its_source_still_compares():
    """Its source names the bucket and the ETag (public): the next event or backfill rewrites it. Its version is still
    the source's for the upload-slot check and for deleting an original once its output is confirmed."""
    old = status.done_record({"bucket": "originals", "key": "k", "etag": ETAG}, OPTIONS, {"key": "pixelated/k"}, 5)
    assert not status.is_same_work(old, ETAG, OPTIONS, "stack-a")
    assert status.is_same_source(old["source"], ETAG, "stack-a")
    assert not status.is_same_source(old["source"], "another-etag", "stack-a")
    assert status.is_same_source({"etag": ETAG}, ETAG, "stack-a")  # an old output's source-etag metadata
    assert not status.is_same_source({}, ETAG, "stack-a") and not status.is_same_source(None, ETAG, "stack-a")
