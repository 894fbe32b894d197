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
from pixelate.service.telemetry import logger, metrics

# A batch whose every record failed answers all of them as batchItemFailures rather than raising: the same
# redelivery on AWS, and one answer shape for the local runner.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def process_jobs(found: list[events.Job], config: HandlerConfig) -> list[str]:
    s3, sns = aws.s3_client(), aws.sns_client() if config.topic_arn else None
    return [workflow.process_job(job, config, s3, sns) for job in found]


def record_handler(record: SQSRecord, config: HandlerConfig | RuntimeError) -> list[str]:
    """One SQS message: every object its body names. Raising fails this message only."""
    if isinstance(config, RuntimeError):
        raise config  # a broken deployment setting: no image's fault, every message goes round to the DLQ
    return process_jobs(events.jobs_from_message(record.body), config)


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
    kind = events.event_kind(event)
    if kind == "sqs":
        handle = functools.partial(record_handler, config=read_config())
        return process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
    if kind == "s3-batch-operations":
        config = read_config()
        sns = aws.sns_client() if not isinstance(config, RuntimeError) and config.topic_arn else None
        return batch_operations.answer(event, config, aws.s3_client(), sns)
    return {"outcomes": process_jobs(events.jobs_from_event(event), HandlerConfig.from_env())}
