"""pixelate.deploy.backfill: the flags as overrides, the state machine's input, following an execution, and
waiting for status records (against moto's server: real boto3, real S3 listings and reads)."""
from __future__ import annotations

import json
import threading

import boto3
import pytest

from pixelate.deploy import backfill as plan
from pixelate.image.options import Options
from pixelate.service import status, store

DEFAULTS = Options(16, "average")


def test_flags_become_metadata_style_overrides():
    assert plan.overrides() == {}
    assert plan.overrides(24, "nearest", faces=True) == {"pixel-size": "24", "method": "nearest", "faces": "true"}


def test_execution_input_lists_or_reads_a_manifest():
    assert plan.execution_input("a/", {"method": "nearest"}) == {"options": {"method": "nearest"}, "prefix": "a/"}
    assert plan.execution_input(chosen={}, manifest="s3://inv/x/manifest.json") == {
        "options": {}, "manifest": {"bucket": "inv", "key": "x/manifest.json"}}
    for bad in ("inv/x.json", "s3://inv", "s3:///x", "s3://inv/"):
        with pytest.raises(ValueError):
            plan.parse_s3_url(bad)


# --- following an execution ---

RUNNING = {"executionArn": "arn:aws:states:eu-west-1:1:execution:pixelator-backfill:b1", "status": "RUNNING"}
MAP_RUN = {"mapRunArn": "arn:aws:states:eu-west-1:1:mapRun:pixelator-backfill/Listed:1", "status": "RUNNING",
           "itemCounts": {"pending": 40, "running": 10, "succeeded": 940, "failed": 10, "timedOut": 0, "aborted": 0,
                          "total": 1000, "resultsWritten": 0, "failuresNotRedrivable": 0, "pendingRedrive": 0},
           "executionCounts": {"pending": 4, "running": 1, "succeeded": 94, "failed": 1, "timedOut": 0, "aborted": 0,
                               "total": 100, "resultsWritten": 0}}


def test_progress_of_the_documented_answers():
    progress = plan.progress_of(RUNNING, [MAP_RUN])
    assert (progress.status, progress.map_run_status, progress.total, progress.succeeded, progress.failed) == (
        "RUNNING", "RUNNING", 1000, 940, 10)
    assert progress.handled == 950 and not progress.finished
    done = {**RUNNING, "status": "SUCCEEDED", "output": json.dumps(
        {"MapRunArn": MAP_RUN["mapRunArn"], "ResultWriterDetails": {"Bucket": "processed", "Key": "backfill-runs/x/manifest.json"}})}
    progress = plan.progress_of(done, [{**MAP_RUN, "status": "SUCCEEDED"}])
    assert progress.finished and progress.report == "s3://processed/backfill-runs/x/manifest.json"
    assert plan.progress_of({"status": "FAILED", "error": "States.ExceedToleratedFailureThreshold", "cause": "…"}, []).error


@pytest.fixture
def state_machine(moto_endpoint, unique_name):
    sfn = boto3.client("stepfunctions")
    definition = json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 1, "End": True}}})
    arn = sfn.create_state_machine(name=unique_name("backfill"), definition=definition,
                                   roleArn="arn:aws:iam::123456789012:role/backfill")["stateMachineArn"]
    return sfn, arn


def test_start_and_follow_until_the_execution_stops(state_machine):
    """moto keeps an execution RUNNING with no map run until it is stopped: the follower reports and returns."""
    sfn, arn = state_machine
    document = plan.execution_input("holiday/", {"pixel-size": "24"})
    execution = plan.start_backfill(sfn, arn, document)
    assert json.loads(sfn.describe_execution(executionArn=execution)["input"]) == document
    seen = []

    def stop_after_two(progress):
        seen.append(progress)
        if len(seen) == 2:
            sfn.stop_execution(executionArn=execution, error="Test", cause="stopped by the test")

    final = plan.follow_execution(sfn, execution, stop_after_two, poll_s=0.01)
    assert [p.status for p in seen] == ["RUNNING", "RUNNING", "ABORTED"] and final.finished
    assert (final.total, final.handled) == (0, 0)


def test_following_gives_up_after_the_timeout(state_machine):
    sfn, arn = state_machine
    execution = plan.start_backfill(sfn, arn, plan.execution_input())
    assert plan.follow_execution(sfn, execution, poll_s=0.01, timeout=0.05).status == "RUNNING"


# --- waiting for status records ---


@pytest.fixture
def buckets(moto_endpoint, unique_name):
    s3 = boto3.client("s3")
    originals, processed = unique_name("orig"), unique_name("proc")
    s3.create_bucket(Bucket=originals)
    s3.create_bucket(Bucket=processed)
    return s3, originals, processed


#: the processing function's key of versions (``status.source_version``), as the watch reads it from the function
VERSION_KEY = "stack-id-part"


def commit(s3, processed, key, etag, options, state="done"):
    source = status.source_of(key, etag, VERSION_KEY)
    record = (status.done_record(source, options, {"key": status.output_key(key)}, 5) if state == "done"
              else status.failed_record(source, options, "corrupt", "cut short", 5))
    store.put_status(processed, status.status_key(key), record, s3)


def test_expected_options_are_the_metadata_under_the_overrides(buckets):
    s3, originals, _ = buckets
    s3.put_object(Bucket=originals, Key="a.png", Body=b"a", Metadata={"pixel-size": "8", "method": "nearest"})
    s3.put_object(Bucket=originals, Key="b.png", Body=b"b")
    s3.put_object(Bucket=originals, Key="status/own.png", Body=b"c")
    listing = plan.expected_statuses(s3, originals, ["a.png", "b.png", "gone.png", "status/own.png"], {"pixel-size": "24"}, DEFAULTS)
    assert listing.expected["a.png"].options == {"pixel_size": 24, "method": "nearest", "regions": [], "faces": False}
    assert listing.expected["b.png"].options == {"pixel_size": 24, "method": "average", "regions": [], "faces": False}
    assert listing.expected["a.png"].etag == s3.head_object(Bucket=originals, Key="a.png")["ETag"].strip('"')
    # a folder named like the service's own prefixes is an ordinary folder of the originals bucket
    assert listing.gone == ["gone.png"] and "status/own.png" in listing.expected
    invalid = plan.expected_statuses(s3, originals, ["b.png"], {"pixel-size": "1"}, DEFAULTS)
    assert invalid.expected["b.png"].options == {"pixel_size": 1, "method": "average", "regions": [], "faces": False}  # what the failed record says


def test_the_watch_waits_for_these_options_and_rereads_only_what_changed(buckets):
    s3, originals, processed = buckets
    keys = [f"lib/{i}.png" for i in range(25)]
    for key in keys:
        s3.put_object(Bucket=originals, Key=key, Body=key.encode())
    listing = plan.expected_statuses(s3, originals, keys, {"pixel-size": "24"}, DEFAULTS)
    new, old = {"pixel_size": 24, "method": "average", "regions": [], "faces": False}, {"pixel_size": 16, "method": "average", "regions": [], "faces": False}
    for key in keys:  # an earlier run's records, for other options
        commit(s3, processed, key, listing.expected[key].etag, old)
    reads = []
    s3.meta.events.register("before-parameter-build.s3.GetObject", lambda params, **_: reads.append(params["Key"]))
    watch = plan.StatusWatch(s3, processed, listing.expected, source_version_key=VERSION_KEY)
    assert watch.poll() == 0 and len(reads) == 25  # each old record read once ...
    assert watch.poll() == 0 and len(reads) == 25  # ... and not again while unchanged
    for key in keys[:10]:
        commit(s3, processed, key, listing.expected[key].etag, new)
    commit(s3, processed, keys[10], listing.expected[keys[10]].etag, new, state="failed")
    commit(s3, processed, keys[11], "another-etag", new)  # a record of another version: not this one
    assert watch.poll() == 11 and len(reads) == 25 + 12
    summary = watch.summary()
    assert (summary.done, summary.failed, len(summary.pending), summary.exit_code) == (10, {"corrupt": 1}, 14, 1)

    def finish_the_rest():
        for key in keys[11:]:
            commit(s3, processed, key, listing.expected[key].etag, new)

    finished = []
    worker = threading.Timer(0.05, finish_the_rest)
    worker.start()
    summary = plan.wait_for_statuses(watch, finished.append, poll_s=0.02, timeout=60)
    worker.join()
    assert (summary.done, summary.failed_count, summary.pending, summary.exit_code) == (24, 1, [], 2)
    assert sum(finished) == 14


def test_all_done_exits_zero_and_a_timeout_names_what_is_missing(buckets):
    s3, originals, processed = buckets
    s3.put_object(Bucket=originals, Key="one.png", Body=b"1")
    listing = plan.expected_statuses(s3, originals, ["one.png"], {}, DEFAULTS)
    watch = plan.StatusWatch(s3, processed, listing.expected, source_version_key=VERSION_KEY)
    summary = plan.wait_for_statuses(watch, poll_s=0.01, timeout=0.05)
    assert summary.pending == ["one.png"] and summary.exit_code == 1
    commit(s3, processed, "one.png", listing.expected["one.png"].etag, listing.expected["one.png"].options)
    other_stack = plan.StatusWatch(s3, processed, listing.expected, source_version_key="another-stack")
    assert plan.wait_for_statuses(other_stack, poll_s=0.01, timeout=0.05).pending == ["one.png"]  # the key counts
    assert plan.wait_for_statuses(watch, poll_s=0.01, timeout=5).exit_code == 0


def test_list_keys_lists_under_the_prefix_in_order(buckets):
    s3, originals, _ = buckets
    for i in range(3):
        s3.put_object(Bucket=originals, Key=f"p/{i}", Body=b"x")
    s3.put_object(Bucket=originals, Key="q/x", Body=b"x")
    assert plan.list_keys(s3, originals, "p/") == ["p/0", "p/1", "p/2"]
    assert len(plan.list_keys(s3, originals)) == 4
