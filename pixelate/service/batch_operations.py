"""S3 Batch Operations: each task of an invocation goes through the workflow; the answer has a result per task.

A Batch Operations job with the ``LambdaInvoke`` operation (schema 1.0 or 2.0) calls the processing function
directly, over a manifest or an S3 Inventory report, and writes the results to its completion report:

- ``Succeeded``: the object's status record says ``done`` for its current ETag and options (pixelated by this
  task, or already before it: the workflow's idempotency applies as for every other door).
- ``PermanentFailure``: the status record says ``failed`` (``resultString`` is ``reason: message``, the reason
  from ``pixelate.REASONS``); the object no longer exists; it is the service's own output; the task names no
  object, or the job's user arguments are not string pairs.
- ``TemporaryFailure``: whatever the workflow raises (by its policy only what a retry may cure: S3 errors,
  throttling, timeouts, a source replaced mid-way) and a broken function setting. Batch Operations retries it.

The status record is the answer's source of truth, as it is the commit marker of the workflow: the result is
read from it after the workflow ran. Job user arguments (schema 2.0) are option overrides, metadata-style
(``{"pixel-size": "24"}``), like a backfill's. The current version of each object is processed: outputs are
keyed by object key, not version.
"""
from __future__ import annotations

from pixelate.service import events, status, store, workflow
from pixelate.service.config import HandlerConfig
from pixelate.service.deadline import Deadline
from pixelate.service.telemetry import logger, record_transient_failure

SUCCEEDED, TEMPORARY_FAILURE, PERMANENT_FAILURE = "Succeeded", "TemporaryFailure", "PermanentFailure"
#: Longest ``resultString`` written into the completion report (a human sentence, cut if longer).
MAX_RESULT_STRING = 1024


def answer(event: dict, config: HandlerConfig | RuntimeError, s3, sns=None, deadline: Deadline | None = None) -> dict:
    """The response to one Batch Operations invocation: the event's schema version and invocation id, and a
    result per task. ``config`` is the function's settings, or the error reading them raised; ``deadline`` is
    the invocation's (a task still running when it comes is answered from its ``failed``/``timeout`` status)."""
    invocation = events.batch_operations_tasks(event)
    return {
        "invocationSchemaVersion": invocation.schema_version,
        "treatMissingKeysAs": PERMANENT_FAILURE,
        "invocationId": invocation.invocation_id,
        "results": [task_result(task, config, s3, sns, deadline) for task in invocation.tasks],
    }


def task_result(
    task: events.BatchTask, config: HandlerConfig | RuntimeError, s3, sns=None, deadline: Deadline | None = None
) -> dict:
    """The result of one task: its object processed by the workflow, and the outcome classified."""
    if task.job is None:
        return result(task.task_id, PERMANENT_FAILURE, f"unrecognised-task: {task.problem}")
    if isinstance(config, RuntimeError):
        record_transient_failure()
        return result(task.task_id, TEMPORARY_FAILURE, f"misconfigured: {config}")
    try:
        outcome = workflow.process_job(task.job, config, s3, sns, deadline)
        code, text = outcome_result(task.job, outcome, config, s3)
    except Exception as error:  # noqa: BLE001 - by the workflow's policy, what it raises is worth a retry
        # counted as the SQS path counts them: the invocation itself succeeds, so Lambda's Errors never shows it
        record_transient_failure()
        logger.warning("task failed transiently: Batch Operations retries it",
                       extra={"bucket": task.job.bucket, "key": task.job.key, "detail": repr(error)[:500]})
        return result(task.task_id, TEMPORARY_FAILURE, f"transient: {type(error).__name__}: {error}")
    return result(task.task_id, code, text)


def outcome_result(job: events.Job, outcome: str, config: HandlerConfig, s3) -> tuple[str, str]:
    """(result code, result string) of a workflow outcome that did not raise."""
    if outcome == workflow.SKIPPED_GONE:
        return PERMANENT_FAILURE, f"gone: s3://{job.bucket}/{job.key} no longer exists"
    if outcome == workflow.SKIPPED_RECURSION:
        return PERMANENT_FAILURE, "own-output: the service never processes its own output"
    record = store.read_status(config.processed_bucket, status.status_key(job.key), s3)
    if record is None or record.get("state") not in status.TERMINAL_STATES:
        return TEMPORARY_FAILURE, "no-status: the status record is not there yet"
    if record["state"] == status.DONE:
        return SUCCEEDED, f"done: {(record.get('output') or {}).get('key', status.output_key(job.key))}"
    return PERMANENT_FAILURE, f"{record.get('reason')}: {record.get('message')}"


def result(task_id: str, code: str, text: str) -> dict:
    return {"taskId": task_id, "resultCode": code, "resultString": text[:MAX_RESULT_STRING]}
