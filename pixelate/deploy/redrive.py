"""Sending the dead-letter queue's messages back to the job queue (``pixelate redrive``).

A message lands in the dead-letter queue after ``MaxReceiveCount`` failed deliveries: transient failures that
did not pass (an S3 outage, a bad deployment setting), or an invocation that ran out of memory, which leaves no
status and no log line of its own. Once the cause is fixed, the messages are sent back and processed as new.

On AWS this is SQS's own redrive: ``start_message_move_task`` from the dead-letter queue to the job queue (the
console's "Start DLQ redrive"); SQS moves the messages in the background, and the answer is its estimate of how
many. moto does not implement move tasks, so on the local stack the messages are moved one by one: received,
sent to the job queue with their body and attributes, then deleted from the dead-letter queue (at least once: a
crash between the send and the delete leaves a copy behind, which the handler's idempotency makes harmless).
"""
from __future__ import annotations

from dataclasses import dataclass

#: The SQS API moves at most this many messages per receive and per batch.
SQS_BATCH = 10


@dataclass(frozen=True)
class Redrive:
    """What a redrive did: ``moved`` messages (exact when moved here; SQS's estimate for a move task), and the
    move task's handle on AWS (None when moved here)."""

    moved: int
    task_handle: str | None = None


def queue_arn(sqs, queue_url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def waiting(sqs, queue_url: str) -> int:
    """The messages a queue holds, visible or in flight (SQS's approximate counts)."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def start_move_task(sqs, dead_letter_url: str, job_queue_url: str) -> Redrive:
    """AWS: SQS moves the dead-letter queue's messages back to the job queue in the background."""
    answer = sqs.start_message_move_task(SourceArn=queue_arn(sqs, dead_letter_url), DestinationArn=queue_arn(sqs, job_queue_url))
    return Redrive(moved=int(sqs.get_queue_attributes(
        QueueUrl=dead_letter_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"]),
        task_handle=answer["TaskHandle"])


def move_messages(sqs, dead_letter_url: str, job_queue_url: str, limit: int | None = None) -> Redrive:
    """Move the messages visible in the dead-letter queue now (at most ``limit``) to the job queue, one batch at
    a time; returns how many were moved. Messages that fail again and come back meanwhile are not moved twice:
    the count is capped by what the queue held when the redrive started."""
    budget = waiting(sqs, dead_letter_url) if limit is None else limit
    moved = 0
    while moved < budget:
        messages = sqs.receive_message(
            QueueUrl=dead_letter_url, MaxNumberOfMessages=min(SQS_BATCH, budget - moved), WaitTimeSeconds=0,
            MessageAttributeNames=["All"], VisibilityTimeout=60,
        ).get("Messages", [])
        if not messages:
            break
        entries = [
            {"Id": str(i), "MessageBody": m["Body"], **({"MessageAttributes": m["MessageAttributes"]} if m.get("MessageAttributes") else {})}
            for i, m in enumerate(messages)
        ]
        sent = sqs.send_message_batch(QueueUrl=job_queue_url, Entries=entries)
        if sent.get("Failed"):
            raise RuntimeError(f"{len(sent['Failed'])} of {len(entries)} messages not sent back: {sent['Failed'][0]}")
        sqs.delete_message_batch(
            QueueUrl=dead_letter_url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        )
        moved += len(messages)
    return Redrive(moved=moved)
