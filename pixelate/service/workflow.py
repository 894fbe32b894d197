"""What the processing function does with one object: head → checks → get → pixelate → put → status → notify.

Failure policy, per object:

- **Permanent** (the core rejects the image, the object is too large by its ``ContentLength``, an option in its
  metadata is invalid): a ``failed`` status record, one SNS message, the ``ImagesFailed`` metric, and the
  message counts as handled. Retrying would give the same answer.
- **Transient** (any botocore error other than "not found" on the source: throttling, 5xx, timeouts,
  connection errors; a job that lost its write races twice) and anything unexpected: raised. In an SQS
  batch the record becomes a ``batchItemFailures`` entry, SQS delivers it again, and after the queue's
  maxReceiveCount it lands in the dead-letter queue, which alarms. Only such failures reach the DLQ.
- **Gone**: a source that no longer exists when its event is processed (deleted since, or already deleted by
  ``DELETE_ORIGINALS`` when a duplicate event arrives) is skipped with a warning: no status, no retry. A
  retry could never succeed, and an object that is not there has nothing to report to its uploader.

At least once: the status record is the commit marker, written after the output and before the notification
(``commit.Committer``). A repeated event whose status record is terminal for the same source ETag and the same options
does nothing (no write, no SNS). Every step before the status write is repeatable: the output key is
deterministic.

Versions race: the output and the status are written conditionally on what was there when the job started
(read *before* ``head_object``), so a write made from an older version of the source loses to any write made
since (``store.WriteConflict``): an older version never lands last. A job whose version is no longer current
stops (``skipped-superseded``: the newer version's own event does the work); one whose version is current starts
over (see ``process_job``). A key made by ``POST /api/uploads`` is an upload slot: its first final status is its only one, and a later
version posted through the same slot is ignored (``skipped-reused-upload``, logged and counted); the same version
with other options (a backfill's) is processed again.

Time: with a ``deadline.Deadline``, a job whose invocation runs short gets a ``failed`` status with reason
``timeout`` (``status.SERVICE_REASONS``) from the watchdog, and a job is not started with too little time left.

Nothing is written to the filesystem: bytes stay in memory (a source is at most ``PIXELATE_MAX_BYTES``).
Clients are passed in (the handler passes the process's cached ones).
"""
from __future__ import annotations

import time

from pixelate.image.errors import PixelateError
from pixelate.image.limits import Limits
from pixelate.image.options import Options
from pixelate.image.pipeline import pixelate_bytes
from pixelate.image.result import Result
from pixelate.service import events, status, store
from pixelate.service.commit import Committer
from pixelate.service.config import HandlerConfig
from pixelate.service.deadline import Deadline
from pixelate.service.telemetry import logger, record_done, record_failure, record_reused_upload
from pixelate.service.uploads import DELETE_KEY_METADATA

#: Outcomes of one object; returned for direct invocations and logged.
DONE, FAILED = status.DONE, status.FAILED  # the two that are also status-record states
SKIPPED_RECURSION, SKIPPED_GONE, SKIPPED_SAME = "skipped-recursion", "skipped-gone", "skipped-already-done"
SKIPPED_REUSED, SKIPPED_SUPERSEDED = "skipped-reused-upload", "skipped-superseded"
TIMEOUT = "timeout"
#: How many times a job whose version is current starts over after losing a conditional write before it fails
#: back to the queue (each loss means another job wrote: in a burst of versions of one key, the newest wins).
WRITE_ATTEMPTS = 5


def is_own_output(job: events.Job, config: HandlerConfig) -> bool:
    """The recursion guard: the processed bucket, where every key the service writes goes, is never an input.

    Its prefixes (``pixelated/``, ``status/``) are ordinary folder names in the originals bucket, and a photo
    there is processed like any other (it used to be skipped there without a status, and its client waited)."""
    return job.bucket == config.processed_bucket


def process_job(job: events.Job, config: HandlerConfig, s3, sns=None, deadline: Deadline | None = None) -> str:
    """Process one object; returns its outcome. Raises only for transient failures (see module docstring).

    When the source is replaced between its head and its get, or a conditional write loses (another writer
    changed the output or the status meanwhile), the job looks at the source again. If a newer version is there,
    this job is superseded and stops: the newer version's own event does the work (it was sent after that
    version was written, so it comes). If its version is still current, another job wrote meanwhile (a duplicate
    event, or an older version's job), and the job starts over from what is there now. Only a job that keeps
    losing with its version current fails back to the queue.
    """
    if is_own_output(job, config):
        logger.warning("skipping the service's own output (recursion guard)", extra={"bucket": job.bucket, "key": job.key})
        return SKIPPED_RECURSION
    deadline = deadline or Deadline()
    for _ in range(WRITE_ATTEMPTS):
        deadline.check_can_start(f"s3://{job.bucket}/{job.key}")
        try:
            return attempt_job(job, config, s3, sns, deadline)
        except store.SourceChanged:
            logger.info("a newer version of the source was written meanwhile: this job is superseded", extra={"key": job.key})
            return SKIPPED_SUPERSEDED
        except store.WriteConflict as conflict:
            if is_superseded(job, conflict.source_etag, s3):
                logger.info("a newer version of the source was written meanwhile: this job is superseded", extra={"key": job.key})
                return SKIPPED_SUPERSEDED
            logger.info("another job wrote this key meanwhile: starting over", extra={"key": job.key, "detail": str(conflict)})
            lost = conflict
    raise RuntimeError(f"lost {WRITE_ATTEMPTS} write races on s3://{job.bucket}/{job.key} with its version current: {lost}")


def is_superseded(job: events.Job, etag: str | None, s3) -> bool:
    """Whether the source now holds another version than ``etag`` (or is gone)."""
    try:
        return store.head_source(job.bucket, job.key, s3).etag != etag
    except store.SourceGone:
        return True


def attempt_job(job: events.Job, config: HandlerConfig, s3, sns, deadline: Deadline) -> str:
    started = time.perf_counter()
    where = {"bucket": job.bucket, "key": job.key}
    status_key, output_key = status.status_key(job.key), status.output_key(job.key)
    # What is there now, read before the source: a record or output written after this point, from whatever
    # version, makes this job's conditional writes lose (see the module docstring).
    existing, existing_etag = store.read_status_version(config.processed_bucket, status_key, s3)
    output_etag = store.output_etag(config.processed_bucket, output_key, s3)
    try:
        head = store.head_source(job.bucket, job.key, s3)
    except store.SourceGone:
        logger.warning("source object no longer exists: skipped, not retried", extra=where)
        return SKIPPED_GONE

    # a backfill's option overrides (metadata-style pairs) go on top of the object's metadata, parsed together
    requested = events.options_from_metadata(job.requested_metadata(head.metadata), config.defaults)
    secret = config.source_version_key
    source = status.source_of(job.key, head.etag, secret)
    if status.is_same_work(existing, head.etag, requested.record, secret):
        logger.info("already processed for this ETag and options: nothing to do", extra=where)
        if config.delete_originals and existing["state"] == status.DONE:
            # A previous attempt may have stopped between the status write and the delete.
            delete_original_after_retry(job, head.etag, config, s3)
        return SKIPPED_SAME
    if status.is_upload_slot(job.key) and is_final(existing) and not status.is_same_source(existing.get("source"), head.etag, secret):
        # (the same version with other options is a backfill's: a slot refuses only another version)
        record_reused_upload()
        logger.warning(
            "a second version posted through an upload slot that already has its result: ignored",
            extra={**where, "etag": head.etag, "result_source": existing.get("source")},
        )
        return SKIPPED_REUSED

    committer = Committer(config.processed_bucket, job.key, existing_etag, s3, config.topic_arn, sns,
                          metadata=status_metadata(head.metadata))
    with deadline.watch(lambda: commit_timeout(committer, source, requested.record, started)):
        try:
            return finish_job(job, head, requested, source, output_etag, committer, config, s3, started)
        except store.WriteConflict as conflict:
            conflict.source_etag = head.etag  # which version lost: process_job decides whether it is superseded
            raise


def finish_job(job, head, requested, source, output_etag, committer: Committer, config: HandlerConfig, s3, started) -> str:
    """From the checks to the commit, once the job is known to have work to do."""
    where = {"bucket": job.bucket, "key": job.key}
    try:
        if requested.error is not None:
            raise requested.error
        check_size(head.size, config.limits)
        data = store.read_source(job.bucket, job.key, head.etag, s3)
        result = pixelate(data, requested.options, config.limits)
    except store.SourceGone:
        logger.warning("source object deleted between head and get: skipped, not retried", extra=where)
        return SKIPPED_GONE
    except PixelateError as error:
        record = status.failed_record(source, requested.record, error.reason, error.message, _elapsed_ms(started))
        if committer.commit(record) is None:
            return TIMEOUT
        record_failure(error.reason)
        logger.info("rejected", extra={**where, "reason": error.reason, "detail": error.message})
        return FAILED

    if committer.wait_if_claimed():  # the deadline ended the job while it was being pixelated
        return TIMEOUT
    options = requested.options
    output_key = status.output_key(job.key)
    output_etag = store.put_output(
        config.processed_bucket,
        output_key,
        result.data,
        result.content_type,
        {"source-version": source["version"], "pixel-size": str(options.pixel_size), "method": options.method},
        s3,
        condition=store.write_condition(output_etag),
    )
    elapsed_ms = _elapsed_ms(started)
    output = {
        "key": output_key,
        "content_type": result.content_type,
        "width": result.width,
        "height": result.height,
        "frames": result.frames,
        "bytes": len(result.data),
    }
    record = status.done_record(source, requested.record, output, elapsed_ms, regions=result.regions)
    status_etag = committer.commit(record)
    if status_etag is None:
        return TIMEOUT
    record_done(elapsed_ms, result.width * result.height)
    logger.info("pixelated", extra={**where, "elapsed_ms": elapsed_ms, "output_bytes": len(result.data)})

    if config.delete_originals:
        delete_original(job, config, {output_key: output_etag, committer.key: status_etag}, s3)
    return DONE


def status_metadata(source_metadata: dict[str, str]) -> dict[str, str]:
    """What of the source's metadata the status object carries: the upload's delete key (``uploads``), checked
    to be a SHA-256 in hex so that nothing else rides along."""
    key = source_metadata.get(DELETE_KEY_METADATA, "")
    return {DELETE_KEY_METADATA: key} if len(key) == 64 and all(c in "0123456789abcdef" for c in key) else {}


def is_final(record: dict | None) -> bool:
    return isinstance(record, dict) and record.get("state") in status.TERMINAL_STATES


def commit_timeout(committer: Committer, source: dict, options: dict, started: float) -> None:
    """The deadline's watchdog: end the job with a ``failed`` record, reason ``timeout`` (on the timer thread)."""
    message = "processing took longer than the function's timeout allows"
    record = status.failed_record(source, options, TIMEOUT, message, _elapsed_ms(started))
    try:
        if committer.commit(record, by="deadline") is None:
            return
    except Exception as error:  # a thread of its own: nobody else would see it
        logger.error("timeout status not written", extra={"key": source["key"], "cause": f"{type(error).__name__}: {error}"})
        return
    record_failure(TIMEOUT)
    logger.warning("timed out: failed status written before the invocation ends", extra={"key": source["key"]})


def check_size(size: int, limits: Limits) -> None:
    """Reject by ``ContentLength`` before downloading: a 5 GB upload is never read into memory."""
    if size == 0:
        raise PixelateError("empty", "the object is empty")
    if size > limits.max_bytes:
        raise PixelateError("too-large", f"the object is {size} bytes; the limit is {limits.max_bytes}")


def pixelate(data: bytes, options: Options, limits: Limits) -> Result:
    return pixelate_bytes(data, options=options, limits=limits)


def delete_original(job: events.Job, config: HandlerConfig, written: dict[str, str], s3) -> None:
    """Delete the source only once S3 serves exactly what we wrote at both the output and the status key."""
    for key, etag in written.items():
        if not store.is_confirmed(config.processed_bucket, key, etag, s3):
            # Raise (transient): the retry finds the status, skips the work, and never deletes; the original
            # is kept, which is the safe side.
            raise RuntimeError(f"s3://{config.processed_bucket}/{key} is not confirmed; original kept")
    store.delete_source(job.bucket, job.key, s3)
    logger.info("original deleted", extra={"bucket": job.bucket, "key": job.key})


def delete_original_after_retry(job: events.Job, etag: str, config: HandlerConfig, s3) -> None:
    """On a repeated event, delete the source once the output S3 serves was made from this very source version."""
    output_key = status.output_key(job.key)
    if not status.is_same_source(store.output_source(config.processed_bucket, output_key, s3), etag, config.source_version_key):
        raise RuntimeError(f"s3://{config.processed_bucket}/{output_key} is not confirmed; original kept")
    store.delete_source(job.bucket, job.key, s3)
    logger.info("original deleted (on a repeated event)", extra={"bucket": job.bucket, "key": job.key})


def _elapsed_ms(started: float) -> int:
    return int(round((time.perf_counter() - started) * 1000))
