"""The processing Lambda's entry: ``pixelate.service.handler.lambda_handler``. Powertools glue only.

An event (an SQS batch from the job queue, or a direct S3, SNS or EventBridge invocation) becomes typed jobs
(``events``), each run by ``workflow.process_job`` with the settings read once per invocation and the
process's cached clients. What happens to one object, and which failures are retried, is the workflow's
business (see its docstring). An S3 Batch Operations invocation is answered task by task (``batch_operations``).
"""
from __future__ import annotations

import functools

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

# The image pipeline (and Pillow) at import, through the workflow: every invocation needs it, and Lambda's
# init phase is the place to pay for it.
from pixelate.service import aws, batch_operations, events, workflow
from pixelate.service.config import HandlerConfig
from pixelate.service.deadline import Deadline
from pixelate.service.telemetry import logger, metrics, record_transient_failure

# A batch whose every record failed answers all of them as batchItemFailures rather than raising: the same
# redelivery on AWS, and one answer shape for the local runner. With the logger, Powertools logs each failed
# record's traceback at warning level (without it, at debug level only).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False, logger=logger)


def process_jobs(found: list[events.Job], config: HandlerConfig, deadline: Deadline | None = None) -> list[str]:
    s3, sns = aws.s3_client(), aws.sns_client() if config.topic_arn else None
    return [workflow.process_job(job, config, s3, sns, deadline) for job in found]


def record_handler(record: SQSRecord, config: HandlerConfig | RuntimeError, deadline: Deadline | None = None) -> list[str]:
    """One SQS message: every object its body names. Raising fails this message only; each such failure is
    logged with the keys and the cause, and counted as ``TransientFailures``."""
    try:
        if isinstance(config, RuntimeError):
            raise config  # a broken deployment setting: no image's fault, every message goes round to the DLQ
        found = events.jobs_from_message(record.body)
        return process_jobs(found, config, deadline)
    except Exception as error:
        record_transient_failure()
        logger.error(
            "record failed: left on the queue for redelivery",
            extra={
                "message_id": record.message_id,
                "receive_count": record.attributes.approximate_receive_count,
                "keys": keys_named(record.body),
                "cause": f"{type(error).__name__}: {error}",
            },
        )
        raise


def keys_named(body: str) -> list[str]:
    """The keys a message body names, for a log line (none when it names none it can be read for)."""
    try:
        return [job.key for job in events.jobs_from_message(body)]
    except Exception:
        return []


def read_config() -> HandlerConfig | RuntimeError:
    """The settings, read once per invocation; a setting that is wrong is returned, to fail each record with."""
    try:
        return HandlerConfig.from_env()
    except RuntimeError as error:
        logger.error("the function's settings are wrong: every record fails until they are fixed", extra={"detail": str(error)})
        return error


@metrics.log_metrics
def lambda_handler(event: dict, context=None) -> dict:
    """The entry point. An SQS batch answers ``{"batchItemFailures": [...]}`` (the event source mapping has
    ``ReportBatchItemFailures``); an S3 Batch Operations invocation answers a result per task; a direct S3,
    SNS or EventBridge invocation answers the outcome of each object and raises on a transient failure, so
    Lambda's own retry applies."""
    deadline = Deadline(context)
    kind = events.event_kind(event)
    if kind == "sqs":
        handle = functools.partial(record_handler, config=read_config(), deadline=deadline)
        return process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
    if kind == "s3-batch-operations":
        config = read_config()
        sns = aws.sns_client() if not isinstance(config, RuntimeError) and config.topic_arn else None
        return batch_operations.answer(event, config, aws.s3_client(), sns, deadline)
    return {"outcomes": process_jobs(events.jobs_from_event(event), HandlerConfig.from_env(), deadline)}
