"""One Lambda instance on the job queue, as a process of its own (``python -m pixelate.local.worker``).

A worker long-polls the queue for up to ``BatchSize`` messages (at most 10 per receive, as the SQS API allows),
calls the handler with the real SQS event shape and a Lambda context, and deletes the messages the handler did
not report as failed, leaving the failed ones alone: SQS makes them visible again after the visibility
timeout, and moves them to the dead-letter queue once they have been received ``maxReceiveCount`` times. A
worker that dies mid-batch deleted nothing, so its messages come back. After each invocation it reports a
``BatchReport`` to the parent over the child channel (``pixelate.local.child``).
"""
from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

from pixelate.local import lambda_sim
from pixelate.local.child import Channel
from pixelate.local.lambda_sim import LambdaContext, failed_message_ids, moto_client, sqs_event
from pixelate.local.settings import RunnerSettings, settings_from_dict
from pixelate.service.events import jobs_from_message

#: How long one receive waits for messages: short enough for a worker to notice it should stop.
POLL_WAIT_S = 1
#: The SQS API returns at most this many messages per receive.
SQS_MAX_RECEIVE = 10


@dataclass
class BatchReport:
    """What a worker tells the parent after each invocation (for the progress view and the tests)."""

    worker: int
    pid: int
    received: int
    deleted: list[tuple[str, str, int]]  # (bucket, key, delivery number) of the jobs whose messages succeeded
    failed: list[tuple[str, str, int]]  # ... and of those left for redelivery
    ms: float
    error: str | None = None
    faults_injected: int = 0
    # (message id, keys it names, delivery number) of each message left for redelivery, those naming no object too
    failed_messages: list[tuple[str, list[str], int]] = field(default_factory=list)


def worker_main(settings: RunnerSettings, index: int, fault_rate: float, report: Callable[[BatchReport], None],
                stop: threading.Event) -> None:
    """A Lambda instance: poll, invoke, delete, report; until ``stop`` is set."""
    handler = lambda_sim.become_instance(settings.function, settings.endpoint_url, settings.region)
    injector = None
    if fault_rate > 0:
        from pixelate.local import faults
        from pixelate.service import aws  # the handler's own cached S3 client

        injector = faults.install(aws.s3_client(), fault_rate, seed=os.getpid())
    sqs = moto_client("sqs", settings.endpoint_url, settings.region)
    batch_limit = min(settings.queue.batch_size, SQS_MAX_RECEIVE)
    injected_before = 0
    report(BatchReport(worker=index, pid=os.getpid(), received=0, deleted=[], failed=[], ms=0))
    while not stop.is_set():
        try:
            messages = sqs.receive_message(
                QueueUrl=settings.queue.url,
                MaxNumberOfMessages=batch_limit,
                WaitTimeSeconds=POLL_WAIT_S,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
        except Exception as exc:  # Lambda's poller outlives a failed receive; so does this one
            print(f"receive failed, polling again: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            stop.wait(1)
            continue
        if not messages:
            continue
        batch = invoke(handler, messages, settings, index, sqs)
        if injector is not None:
            batch.faults_injected = injector.injected - injected_before
            injected_before = injector.injected
        report(batch)


def invoke(handler: Callable, messages: list[dict], settings: RunnerSettings, index: int, sqs) -> BatchReport:
    """One invocation: the handler on the batch, then delete what succeeded (what is not deleted comes back)."""
    started = time.perf_counter()
    ids = [message["MessageId"] for message in messages]
    error = None
    try:
        event = sqs_event(messages, settings.queue.arn, settings.region)
        context = LambdaContext(settings.function, settings.region)
        response = lambda_sim.invoke(handler, event, context, settings.function.timeout_s)
        failed = failed_message_ids(response, ids, settings.queue.report_batch_item_failures)
    except Exception as exc:  # a crashed or timed-out invocation fails the whole batch, as on Lambda
        error = f"{type(exc).__name__}: {exc}"
        failed = set(ids)
    succeeded = [message for message in messages if message["MessageId"] not in failed]
    try:
        delete_messages(sqs, settings.queue.url, succeeded)
    except Exception as exc:  # undeleted messages are delivered again: at least once, never lost
        error = f"delete failed, the messages will come back: {type(exc).__name__}: {exc}"
        failed, succeeded = set(ids), []
    return BatchReport(
        worker=index,
        pid=os.getpid(),
        received=len(messages),
        deleted=jobs_of(succeeded),
        failed=jobs_of([m for m in messages if m["MessageId"] in failed]),
        ms=(time.perf_counter() - started) * 1000,
        error=error,
        failed_messages=[message_summary(m) for m in messages if m["MessageId"] in failed],
    )


def message_summary(message: dict) -> tuple[str, list[str], int]:
    """(message id, keys it names, delivery number): what the progress view says of a message that failed."""
    delivery = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1))
    return message["MessageId"], [key for _bucket, key, _delivery in jobs_of([message])], delivery


def jobs_of(messages: list[dict]) -> list[tuple[str, str, int]]:
    """(bucket, key, delivery number) of each object the messages name, as the handler reads them."""
    found = []
    for message in messages:
        delivery = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1))
        try:
            jobs = jobs_from_message(message["Body"])
        except Exception:  # (UnrecognisedEvent, or a body of a known shape with parts missing) a report, not a crash
            jobs = []
        found += [(job.bucket, job.key, delivery) for job in jobs]
    return found


def delete_messages(sqs, queue_url: str, messages: list[dict]) -> None:
    if not messages:
        return
    entries = [{"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]} for i, message in enumerate(messages)]
    answer = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    if answer.get("Failed"):
        raise RuntimeError(f"{len(answer['Failed'])} of {len(entries)} deletions failed: {answer['Failed'][0]}")


def main() -> None:
    """The child's entry: read the settings, then poll until the parent closes stdin or sends SIGTERM."""
    import signal

    channel = Channel()
    config = channel.read()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    channel.until_parent_gone(stop.set)
    settings = settings_from_dict(config["settings"])
    worker_main(settings, config["index"], config["fault_rate"], lambda batch: channel.say(**asdict(batch)), stop)


if __name__ == "__main__":
    main()
