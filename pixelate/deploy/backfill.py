"""Backfill: what ``pixelate backfill`` does beyond sending messages, on either target.

- :func:`overrides`: the command's option flags as the backfill message's metadata-style overrides.
- On AWS: :func:`execution_input` and :func:`start_backfill` start the stack's backfill state machine
  (``BackfillStateMachineArn``); :func:`follow_execution` polls the execution and its map run, and
  :func:`progress_of` turns their answers into counts (pure, so it is tested on the API's documented shapes).
- Either target: :func:`list_keys` lists the originals as the state machine does; :func:`expected_statuses` heads each listed object once (the ETag and the options its status
  record must show, from its metadata, the overrides and the function's defaults, parsed as the function
  parses them); :class:`StatusWatch` polls the status records until each is terminal for those, reading again
  only the records whose S3 ETag changed since it last read them.

The local listing and sending is :mod:`pixelate.local.backfill` (moto runs no Distributed Map).
"""
from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Mapping

from pixelate.image.options import Options
from pixelate.service import events, status, store
from pixelate.service.config import SOURCE_VERSION_KEY, default_options

#: States of a Step Functions execution that will not change any more.
FINISHED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
#: Heads and status reads in flight at once: a few overlap moto's round trips (more would only queue in its one
#: process); on AWS, where each is a network round trip, many more.
READERS = 8
AWS_READERS = 32


class BackfillError(RuntimeError):
    """The backfill could not be started or followed (no state machine, a failed execution, messages not sent)."""


def overrides(
    pixel_size: int | str | None = None, method: str | None = None, faces: bool = False,
    face_blocks: int | str | None = None,
) -> dict[str, str]:
    """The option flags as metadata-style overrides (``{"pixel-size": "24"}``); no flag, no override."""
    chosen: dict[str, str] = {}
    if pixel_size is not None:
        chosen[events.PIXEL_SIZE_METADATA] = str(pixel_size)
    if method is not None:
        chosen[events.METHOD_METADATA] = str(method)
    if faces:
        chosen[events.FACES_METADATA] = "true"
    if face_blocks is not None:
        chosen[events.FACE_BLOCKS_METADATA] = str(face_blocks)
    return chosen


# --- AWS: the state machine -----------------------------------------------------------------------------------


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key); ``ValueError`` for anything else."""
    if not url.startswith("s3://") or "/" not in url[5:] or url[5:].startswith("/") or url.endswith("/"):
        raise ValueError(f"expected s3://bucket/key, not {url!r}")
    bucket, _, key = url[5:].partition("/")
    return bucket, key


def execution_input(prefix: str = "", chosen: Mapping[str, str] | None = None, manifest: str | None = None) -> dict:
    """The state machine's input: ``{"prefix", "options"}`` to list the originals bucket, or ``{"manifest":
    {"bucket", "key"}, "options"}`` to read an S3 Inventory report (``manifest`` is its ``s3://`` URL)."""
    document: dict = {"options": dict(chosen or {})}
    if manifest:
        bucket, key = parse_s3_url(manifest)
        document["manifest"] = {"bucket": bucket, "key": key}
    else:
        document["prefix"] = prefix
    return document


def execution_name(now: datetime | None = None) -> str:
    """A fresh execution name (unique for the 90 days Step Functions keeps them): time and a random suffix."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    return f"backfill-{stamp}-{uuid.uuid4().hex[:8]}"


def start_backfill(sfn, state_machine_arn: str, document: Mapping, name: str | None = None) -> str:
    """Start the backfill state machine with ``document`` as input; returns the execution's ARN."""
    response = sfn.start_execution(stateMachineArn=state_machine_arn, name=name or execution_name(),
                                   input=json.dumps(document))
    return response["executionArn"]


@dataclass(frozen=True)
class Progress:
    """An execution and its map run at one moment: the execution's status, and the map run's item counts."""

    status: str
    map_run_status: str | None = None
    total: int = 0
    succeeded: int = 0
    failed: int = 0
    pending: int = 0
    running: int = 0
    aborted: int = 0
    timed_out: int = 0
    error: str | None = None
    cause: str | None = None
    report: str | None = None  # s3://… of the map run's results (ResultWriter), once written

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def handled(self) -> int:
        """Items the map run is done with (sent, failed to send, aborted or timed out)."""
        return self.succeeded + self.failed + self.aborted + self.timed_out


def progress_of(execution: Mapping, map_runs: Iterable[Mapping]) -> Progress:
    """The :class:`Progress` of ``describe_execution``'s answer and ``describe_map_run``'s answers (item counts
    added up: the backfill state machine runs one map run per execution)."""
    counts: Counter = Counter()
    statuses = []
    for run in map_runs:
        statuses.append(run.get("status"))
        for name, value in (run.get("itemCounts") or {}).items():
            counts[name] += int(value or 0)
    report = None
    try:
        details = json.loads(execution.get("output") or "{}").get("ResultWriterDetails") or {}
        if details.get("Bucket") and details.get("Key"):
            report = f"s3://{details['Bucket']}/{details['Key']}"
    except (ValueError, AttributeError):
        report = None
    return Progress(
        status=str(execution.get("status")),
        map_run_status=statuses[-1] if statuses else None,
        total=counts["total"], succeeded=counts["succeeded"], failed=counts["failed"], pending=counts["pending"],
        running=counts["running"], aborted=counts["aborted"], timed_out=counts["timedOut"],
        error=execution.get("error"), cause=execution.get("cause"), report=report,
    )


def follow_execution(sfn, execution_arn: str, on_progress: Callable[[Progress], None] | None = None,
                     poll_s: float = 2.0, timeout: float | None = None, sleep: Callable[[float], None] = time.sleep) -> Progress:
    """Poll the execution and its map run until the execution has finished (or ``timeout`` seconds passed);
    ``on_progress`` is called with each :class:`Progress`. Returns the last one."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        execution = sfn.describe_execution(executionArn=execution_arn)
        runs = [sfn.describe_map_run(mapRunArn=run["mapRunArn"])
                for run in sfn.list_map_runs(executionArn=execution_arn).get("mapRuns", [])]
        progress = progress_of(execution, runs)
        if on_progress is not None:
            on_progress(progress)
        if progress.finished or (deadline is not None and time.monotonic() > deadline):
            return progress
        sleep(poll_s)


# --- either target: listing, and waiting for the status records ----------------------------------------------


def list_keys(s3, bucket: str, prefix: str = "") -> list[str]:
    """Every key under ``prefix``, in ListObjectsV2's order (the order the state machine's ItemReader reads)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]



def processing_settings(lambda_client, function_arn: str) -> tuple[Options, str]:
    """The processing function's default options, read from its environment as the function reads them, and the
    key of the versions its records name (``status.source_version``)."""
    configuration = lambda_client.get_function_configuration(FunctionName=function_arn)
    environment = (configuration.get("Environment") or {}).get("Variables") or {}
    return default_options(environment), environment.get(SOURCE_VERSION_KEY, "")


@dataclass(frozen=True)
class Expected:
    """What the status record of one listed object must say once the backfill has reached it."""

    key: str
    etag: str
    options: dict


@dataclass
class Listing:
    """The listed objects split by what their status will be: expected, or gone since listed."""

    expected: dict[str, Expected] = field(default_factory=dict)
    gone: list[str] = field(default_factory=list)


def expected_statuses(s3, bucket: str, keys: Iterable[str], chosen: Mapping[str, str], defaults: Options,
                      readers: int = READERS) -> Listing:
    """Head each key once: its ETag, and the options its status must record (metadata with the overrides on
    top, parsed by ``options_from_metadata`` as the function does). Objects gone since the listing expect no
    status."""
    listing = Listing()
    wanted = list(keys)

    def one(key: str) -> tuple[str, Expected | None]:
        try:
            head = store.head_source(bucket, key, s3)
        except store.SourceGone:
            return key, None
        job = events.Job(bucket, key, overrides=dict(chosen))
        requested = events.options_from_metadata(job.requested_metadata(head.metadata), defaults)
        return key, Expected(key, head.etag, requested.record)

    with ThreadPoolExecutor(readers) as pool:
        for key, expected in pool.map(one, wanted):
            if expected is None:
                listing.gone.append(key)
            else:
                listing.expected[key] = expected
    return listing


@dataclass
class WaitSummary:
    """How the waited-for objects ended: done, failed by reason, and those still without their status."""

    done: int
    failed: dict[str, int]
    pending: list[str]

    @property
    def failed_count(self) -> int:
        return sum(self.failed.values())

    @property
    def exit_code(self) -> int:
        """0 when all finished done, 2 when some failed, 1 when some never got their status (timed out)."""
        if self.pending:
            return 1
        return 2 if self.failed_count else 0


class StatusWatch:
    """The status records of the listed objects, read until each is terminal for its expected ETag and options.

    Each :meth:`poll` lists the status records under the objects' common prefix (one request per thousand)
    and reads only those whose S3 ETag changed since last read: a record written by an earlier run for other
    options is read once, then again only when the function rewrites it.
    """

    def __init__(self, s3, processed_bucket: str, expected: Mapping[str, Expected], readers: int = READERS,
                 source_version_key: str = ""):
        self.s3, self.bucket, self.readers = s3, processed_bucket, readers
        self.source_version_key = source_version_key
        self.pending: dict[str, Expected] = dict(expected)
        self.finished: dict[str, dict] = {}
        self._read: dict[str, str] = {}  # status key -> the S3 ETag of the version last read
        self.prefix = status.status_prefix(os.path.commonprefix(list(expected)))

    def poll(self) -> int:
        """Read what changed; returns how many objects got their terminal status in this poll."""
        if not self.pending:
            return 0
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        listed = {item["Key"]: item["ETag"] for page in pages for item in page.get("Contents", [])}
        changed = [key for key in self.pending
                   if listed.get(status.status_key(key)) not in (None, self._read.get(status.status_key(key)))]

        def read(key: str) -> tuple[str, dict | None]:
            return key, store.read_status(self.bucket, status.status_key(key), self.s3)

        newly = 0
        with ThreadPoolExecutor(self.readers) as pool:
            for key, record in pool.map(read, changed):
                self._read[status.status_key(key)] = listed[status.status_key(key)]
                expected = self.pending[key]
                if status.is_same_work(record, expected.etag, expected.options, self.source_version_key):
                    self.finished[key] = record
                    del self.pending[key]
                    newly += 1
        return newly

    def summary(self) -> WaitSummary:
        reasons = Counter(r.get("reason") or "unknown" for r in self.finished.values() if r.get("state") == status.FAILED)
        done = sum(1 for r in self.finished.values() if r.get("state") == status.DONE)
        return WaitSummary(done=done, failed=dict(sorted(reasons.items())), pending=sorted(self.pending))


#: A poll waits at least this many times as long as the poll itself took, so polling takes at most a tenth of the
#: time: listing a million status records is a thousand requests, and locally every request queues in moto's one
#: process beside the workers' (measured: ~2 s to list 2,000 status records there with the machine busy).
POLL_BACKOFF = 9


def wait_for_statuses(watch: StatusWatch, on_finished: Callable[[int], None] | None = None, poll_s: float = 1.0,
                      timeout: float | None = None, sleep: Callable[[float], None] = time.sleep) -> WaitSummary:
    """Poll ``watch`` until every object has its status (or ``timeout`` seconds passed); ``on_finished`` gets the
    number of objects finished by each poll. Polls are ``poll_s`` apart, or POLL_BACKOFF times a poll's duration."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        started = time.monotonic()
        newly = watch.poll()
        if on_finished is not None and newly:
            on_finished(newly)
        if not watch.pending or (deadline is not None and time.monotonic() > deadline):
            return watch.summary()
        pause = max(poll_s, POLL_BACKOFF * (time.monotonic() - started))
        sleep(pause if deadline is None else max(0.0, min(pause, deadline - time.monotonic())))
