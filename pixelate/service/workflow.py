"""What the processing function does with one object: head → checks → get → pixelate → put → notify → status.

Failure policy, per object:

- **Permanent** (the core rejects the image, the object is too large by its ``ContentLength``, an option in its
  metadata is invalid): a ``failed`` status record, one SNS message, the ``ImagesFailed`` metric, and the
  message counts as handled. Retrying would give the same answer.
- **Transient** (any botocore error other than "not found" on the source: throttling, 5xx, timeouts,
  connection errors, a source replaced between head and get) and anything unexpected: raised. In an SQS
  batch the record becomes a ``batchItemFailures`` entry, SQS delivers it again, and after the queue's
  maxReceiveCount it lands in the dead-letter queue, which alarms. Only such failures reach the DLQ.
- **Gone**: a source that no longer exists when its event is processed (deleted since, or already deleted by
  ``DELETE_ORIGINALS`` when a duplicate event arrives) is skipped with a warning: no status, no retry. A
  retry could never succeed, and an object that is not there has nothing to report to its uploader.

At least once: the status record is the commit marker and is written last. A repeated event whose status
record is terminal for the same source ETag and the same options does nothing (no write, no SNS). Every
step before the status write is repeatable: the output key is deterministic, and a crash between the SNS
publish and the status write can give a second notification on the retry, never none.

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
from pixelate.service.config import HandlerConfig
from pixelate.service.telemetry import logger, record_done, record_failure

#: Outcomes of one object; returned for direct invocations and logged.
DONE, FAILED = status.DONE, status.FAILED  # the two that are also status-record states
SKIPPED_RECURSION, SKIPPED_GONE, SKIPPED_SAME = "skipped-recursion", "skipped-gone", "skipped-already-done"

#: Keys the service writes itself. Never processed, whatever bucket they are in, so that a notification
#: configured on the wrong bucket or prefix cannot start a loop.
OWN_PREFIXES = (status.OUTPUT_PREFIX, status.STATUS_PREFIX)


def is_own_output(job: events.Job, config: HandlerConfig) -> bool:
    """The recursion guard: the processed bucket and the service's own key prefixes are never inputs."""
    return job.bucket == config.processed_bucket or job.key.startswith(OWN_PREFIXES)


def process_job(job: events.Job, config: HandlerConfig, s3, sns=None) -> str:
    """Process one object; returns its outcome. Raises only for transient failures (see module docstring)."""
    started = time.perf_counter()
    where = {"bucket": job.bucket, "key": job.key}
    if is_own_output(job, config):
        logger.warning("skipping the service's own output (recursion guard)", extra=where)
        return SKIPPED_RECURSION
    try:
        head = store.head_source(job.bucket, job.key, s3)
    except store.SourceGone:
        logger.warning("source object no longer exists: skipped, not retried", extra=where)
        return SKIPPED_GONE

    # a backfill's option overrides (metadata-style pairs) go on top of the object's metadata, parsed together
    requested = events.options_from_metadata(job.requested_metadata(head.metadata), config.defaults)
    source = status.source_of(job.bucket, job.key, head.etag)
    status_key = status.status_key(job.key)
    existing = store.read_status(config.processed_bucket, status_key, s3)
    if status.is_same_work(existing, head.etag, requested.record):
        logger.info("already processed for this ETag and options: nothing to do", extra=where)
        if config.delete_originals and existing["state"] == status.DONE:
            # A previous attempt may have stopped between the status write and the delete.
            delete_original_after_retry(job, head.etag, config, s3)
        return SKIPPED_SAME

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
        elapsed_ms = _elapsed_ms(started)
        record = status.failed_record(source, requested.record, error.reason, error.message, elapsed_ms)
        commit(record, config, s3, sns)
        record_failure(error.reason)
        logger.info("rejected", extra={**where, "reason": error.reason, "detail": error.message})
        return FAILED

    options = requested.options
    output_key = status.output_key(job.key)
    output_etag = store.put_output(
        config.processed_bucket,
        output_key,
        result.data,
        result.content_type,
        {"source-etag": head.etag, "pixel-size": str(options.pixel_size), "method": options.method},
        s3,
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
    record = status.done_record(source, requested.record, output, elapsed_ms)
    status_etag = commit(record, config, s3, sns)
    record_done(elapsed_ms, result.width * result.height)
    logger.info("pixelated", extra={**where, "elapsed_ms": elapsed_ms, "output_bytes": len(result.data)})

    if config.delete_originals:
        delete_original(job, config, {output_key: output_etag, status_key: status_etag}, s3)
    return DONE


def check_size(size: int, limits: Limits) -> None:
    """Reject by ``ContentLength`` before downloading: a 5 GB upload is never read into memory."""
    if size == 0:
        raise PixelateError("empty", "the object is empty")
    if size > limits.max_bytes:
        raise PixelateError("too-large", f"the object is {size} bytes; the limit is {limits.max_bytes}")


def pixelate(data: bytes, options: Options, limits: Limits) -> Result:
    return pixelate_bytes(data, size=options.pixel_size, method=options.method, limits=limits)


def commit(record: dict, config: HandlerConfig, s3, sns=None) -> str:
    """Notify, then write the status record (the commit marker); returns the status object's ETag."""
    if config.topic_arn:
        store.notify(config.topic_arn, record, sns)
    return store.put_status(config.processed_bucket, status.status_key(record["source"]["key"]), record, s3)


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
    if store.output_source_etag(config.processed_bucket, output_key, s3) != etag:
        raise RuntimeError(f"s3://{config.processed_bucket}/{output_key} is not confirmed; original kept")
    store.delete_source(job.bucket, job.key, s3)
    logger.info("original deleted (on a repeated event)", extra={"bucket": job.bucket, "key": job.key})


def _elapsed_ms(started: float) -> int:
    return int(round((time.perf_counter() - started) * 1000))
