"""Backfill on the local stack: list the originals bucket and send the backfill messages to the job queue.

moto runs no Distributed Map, so this stands in for the backfill state machine of ``cloudformation.yaml``
and does what it does: the same listing (ListObjectsV2 under the prefix, every key as stored, by
``pixelate.deploy.backfill.list_keys``), the same message per object and the same batches of ten, with the
object's index in the listing as entry ``Id`` (``pixelate.service.events.backfill_batches``, the code the
template test compares with the state machine's definition), sent with SendMessageBatch. The runner's workers
then process them like upload events.

One difference, on purpose: it keeps at most MAX_WAITING messages waiting in the queue, sending the next batch
only once the workers have taken enough. moto's ReceiveMessage walks the whole queue (measured here: ~60 ms a
receive and delete with 100 messages waiting, ~300 ms with 1,000, ~570 ms with 2,000), so a backlog of the whole
bucket would slow every worker to a crawl; on AWS the queue takes the backlog at no such cost.

Stopped mid-way and started again with the same arguments, it sends every message again: the processing
function does nothing for an object whose status is already terminal for the same ETag and options, so
nothing is lost and nothing finished is redone.
"""
from __future__ import annotations

import time
from typing import Callable, Iterable, Mapping

from pixelate.service import events

#: SendMessageBatch attempts for entries SQS reports as failed on its side, with a doubling pause between them.
SEND_ATTEMPTS = 5
#: Most messages left waiting (visible) in the queue before the next batch goes: enough to keep every worker
#: the mapping allows busy, few enough that moto's receives stay fast (see the module docstring).
MAX_WAITING = 50
#: How often the depth is read again while the queue is full.
WAITING_POLL_S = 0.1


class SendError(RuntimeError):
    """Some messages could not be sent (SQS refused them, or kept failing on its side)."""


def send_batch(sqs, queue_url: str, entries: list[dict], attempts: int = SEND_ATTEMPTS,
               sleep: Callable[[float], None] = time.sleep) -> None:
    """Send one batch; entries SQS failed on its side are sent again, those it refuses (sender faults) raise."""
    pending = list(entries)
    for attempt in range(attempts):
        failed = sqs.send_message_batch(QueueUrl=queue_url, Entries=pending).get("Failed") or []
        if not failed:
            return
        refused = [f for f in failed if f.get("SenderFault")]
        if refused:
            raise SendError(f"SQS refused {len(refused)} message(s): {refused[0].get('Code')}: {refused[0].get('Message')}")
        again = {f["Id"] for f in failed}
        pending = [entry for entry in pending if entry["Id"] in again]
        sleep(0.2 * 2 ** attempt)
    raise SendError(f"{len(pending)} message(s) still failed after {attempts} attempts")


def waiting(sqs, queue_url: str) -> int:
    """Messages waiting in the queue (visible, not yet received)."""
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def send_backfill(sqs, queue_url: str, bucket: str, keys: Iterable[str], chosen: Mapping[str, str] | None = None,
                  on_sent: Callable[[int], None] | None = None, max_waiting: int | None = MAX_WAITING,
                  sleep: Callable[[float], None] = time.sleep) -> int:
    """Send the backfill message of each key, ten per SendMessageBatch; returns how many were sent.

    Before each batch, waits while ``max_waiting`` messages or more wait in the queue (``None``: never waits).
    ``on_sent`` is called with the size of each batch once SQS has it (a progress bar's ``update``).
    """
    sent = 0
    for batch in events.backfill_batches(bucket, keys, chosen):
        while max_waiting is not None and waiting(sqs, queue_url) >= max_waiting:
            sleep(WAITING_POLL_S)
        send_batch(sqs, queue_url, batch)
        sent += len(batch)
        if on_sent is not None:
            on_sent(len(batch))
    return sent
