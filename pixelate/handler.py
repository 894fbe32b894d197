"""The processing Lambda: ``pixelate.handler.lambda_handler``.

For each object an event names: head → (recursion guard, idempotency check, size and option checks) →
get → pixelate → put output → notify → put status → (optionally) delete the original.

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
"""
from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from pixelate import aws, jobs, status, store
# The core (and Pillow) at import: every invocation needs it, and Lambda's init phase is the place to pay for it.
from pixelate.core import pixelate_bytes
from pixelate.errors import PixelateError
from pixelate.limits import DEFAULT_METHOD, DEFAULT_PIXEL_SIZE, Limits

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "pixelator"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "Pixelator"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# A batch whose every record failed answers all of them as batchItemFailures rather than raising: the same
# redelivery on AWS, and one answer shape for the local runner.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

# An invocation that only skipped (a test event, a duplicate) has no metric to flush: that is normal here.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

#: Outcomes of one object; returned for direct invocations and logged.
DONE, FAILED = status.DONE, status.FAILED  # the two that are also status-record states
SKIPPED_RECURSION, SKIPPED_GONE, SKIPPED_SAME = "skipped-recursion", "skipped-gone", "skipped-already-done"

#: Keys the service writes itself. Never processed, whatever bucket they are in, so that a notification
#: configured on the wrong bucket or prefix cannot start a loop.
OWN_PREFIXES = (status.OUTPUT_PREFIX, status.STATUS_PREFIX)


@dataclass(frozen=True)
class HandlerConfig:
    """The processing function's settings, from its environment (see docs/architecture.md)."""

    processed_bucket: str
    default_pixel_size: int
    default_method: str
    limits: Limits
    delete_originals: bool
    topic_arn: str | None

    @classmethod
    def from_env(cls, environ=None) -> "HandlerConfig":
        env = os.environ if environ is None else environ
        bucket = env.get("PROCESSED_BUCKET")
        if not bucket:
            # A deployment error, not a property of any image: fail loudly so the messages go to the DLQ.
            raise RuntimeError("PROCESSED_BUCKET is not set")
        try:
            # Invalid defaults raise here, on every invocation, for the same reason.
            default_pixel_size = jobs.parse_pixel_size(env.get("DEFAULT_PIXEL_SIZE") or DEFAULT_PIXEL_SIZE)
            default_method = jobs.parse_method(env.get("DEFAULT_METHOD") or DEFAULT_METHOD)
        except PixelateError as error:
            raise RuntimeError(f"DEFAULT_PIXEL_SIZE or DEFAULT_METHOD: {error.message}") from None
        return cls(
            processed_bucket=bucket,
            default_pixel_size=default_pixel_size,
            default_method=default_method,
            limits=Limits.from_env(env),
            delete_originals=(env.get("DELETE_ORIGINALS") or "").strip().lower() in ("1", "true", "yes", "on"),
            topic_arn=(env.get("NOTIFICATION_TOPIC_ARN") or "").strip() or None,
        )


def is_own_output(job: jobs.Job, config: HandlerConfig) -> bool:
    """The recursion guard: the processed bucket and the service's own key prefixes are never inputs."""
    return job.bucket == config.processed_bucket or job.key.startswith(OWN_PREFIXES)


def process_job(job: jobs.Job, config: HandlerConfig, s3=None) -> str:
    """Process one object; returns its outcome. Raises only for transient failures (see module docstring)."""
    s3 = s3 or aws.s3_client()
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

    defaults = (config.default_pixel_size, config.default_method)
    options = jobs.describe_options(head.metadata, *defaults)
    source = status.source_of(job.bucket, job.key, head.etag)
    status_key = status.status_key(job.key)
    existing = store.read_status(config.processed_bucket, status_key, s3)
    if status.is_same_work(existing, head.etag, options):
        logger.info("already processed for this ETag and options: nothing to do", extra=where)
        if config.delete_originals and existing["state"] == status.DONE:
            # A previous attempt may have stopped between the status write and the delete.
            delete_original_after_retry(job, head.etag, config, s3)
        return SKIPPED_SAME

    try:
        options = jobs.options_from_metadata(head.metadata, *defaults)
        check_size(head.size, config.limits)
        data = store.read_source(job.bucket, job.key, head.etag, s3)
        result = pixelate_data(data, options, config.limits)
    except store.SourceGone:
        logger.warning("source object deleted between head and get: skipped, not retried", extra=where)
        return SKIPPED_GONE
    except PixelateError as error:
        elapsed_ms = _elapsed_ms(started)
        record = status.failed_record(source, options, error.reason, error.message, elapsed_ms)
        commit(record, config, s3)
        record_failure_metrics(error.reason)
        logger.info("rejected", extra={**where, "reason": error.reason, "detail": error.message})
        return FAILED

    output_key = status.output_key(job.key)
    output_etag = store.put_output(
        config.processed_bucket,
        output_key,
        result.data,
        result.content_type,
        {"source-etag": head.etag, "pixel-size": str(options["pixel_size"]), "method": options["method"]},
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
    record = status.done_record(source, options, output, elapsed_ms)
    status_etag = commit(record, config, s3)
    record_done_metrics(elapsed_ms, result.width * result.height)
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


def pixelate_data(data: bytes, options: dict, limits: Limits):
    return pixelate_bytes(data, size=options["pixel_size"], method=options["method"], limits=limits)


def commit(record: dict, config: HandlerConfig, s3) -> str:
    """Notify, then write the status record (the commit marker); returns the status object's ETag."""
    if config.topic_arn:
        store.notify(config.topic_arn, record)
    return store.put_status(config.processed_bucket, status.status_key(record["source"]["key"]), record, s3)


def delete_original(job: jobs.Job, config: HandlerConfig, written: dict[str, str], s3) -> None:
    """Delete the source only once S3 serves exactly what we wrote at both the output and the status key."""
    for key, etag in written.items():
        if not store.is_confirmed(config.processed_bucket, key, etag, s3):
            # Raise (transient): the retry finds the status, skips the work, and never deletes; the original
            # is kept, which is the safe side.
            raise RuntimeError(f"s3://{config.processed_bucket}/{key} is not confirmed; original kept")
    store.delete_source(job.bucket, job.key, s3)
    logger.info("original deleted", extra={"bucket": job.bucket, "key": job.key})


def delete_original_after_retry(job: jobs.Job, etag: str, config: HandlerConfig, s3) -> None:
    """On a repeated event, delete the source once the output S3 serves was made from this very source version."""
    output_key = status.output_key(job.key)
    if store.output_source_etag(config.processed_bucket, output_key, s3) != etag:
        raise RuntimeError(f"s3://{config.processed_bucket}/{output_key} is not confirmed; original kept")
    store.delete_source(job.bucket, job.key, s3)
    logger.info("original deleted (on a repeated event)", extra={"bucket": job.bucket, "key": job.key})


def record_done_metrics(elapsed_ms: int, pixels: int) -> None:
    metrics.add_metric(name="ImagesDone", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ProcessingMs", unit=MetricUnit.Milliseconds, value=elapsed_ms)
    metrics.add_metric(name="InputMegapixels", unit=MetricUnit.NoUnit, value=round(pixels / 1e6, 3))


def record_failure_metrics(reason: str) -> None:
    # The total, on the function's usual dimension set: what an alarm watches.
    metrics.add_metric(name="ImagesFailed", unit=MetricUnit.Count, value=1)
    # The same count by reason, for dashboards. Powertools applies a Metrics object's dimensions to every
    # metric of a flush, so the reason dimension goes into an EMF document of its own.
    with single_metric(
        name="ImagesFailed",
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE, "reason": reason},
    ):
        pass


def _elapsed_ms(started: float) -> int:
    return int(round((time.perf_counter() - started) * 1000))


def process_jobs(found: list[jobs.Job], config: HandlerConfig) -> list[str]:
    return [process_job(job, config) for job in found]


def record_handler(record: SQSRecord) -> list[str]:
    """One SQS message: every object its body names. Raising fails this message only."""
    return process_jobs(jobs.jobs_from_message(record.body), HandlerConfig.from_env())


@metrics.log_metrics
def lambda_handler(event: dict, context=None) -> dict:
    """The entry point. An SQS batch answers ``{"batchItemFailures": [...]}`` (the event source mapping has
    ``ReportBatchItemFailures``); a direct S3, SNS or EventBridge invocation answers the outcome of each
    object and raises on a transient failure, so Lambda's own retry applies."""
    if jobs.event_kind(event) == "sqs":
        return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    outcomes = process_jobs(jobs.jobs_from_event(event), HandlerConfig.from_env())
    return {"outcomes": outcomes}
