"""Backfill on the local stack: list the originals bucket and send the backfill messages to the job queue.

moto runs no Distributed Map, so this stands in for the backfill state machine of ``cloudformation.yaml``
and does what it does: the same listing (ListObjectsV2 under the prefix, every key as stored:
``pixelate.deploy.backfill.list_keys``), the same
message per object and the same batches of ten, with the object's index in the listing as entry ``Id``
(``pixelate.service.events.backfill_batches``, the code the template test compares with the state machine's
definition), sent with SendMessageBatch. The runner's workers then process them like upload events.

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


def send_backfill(sqs, queue_url: str, bucket: str, keys: Iterable[str], chosen: Mapping[str, str] | None = None,
                  on_sent: Callable[[int], None] | None = None) -> int:
    """Send the backfill message of each key, ten per SendMessageBatch; returns how many were sent.

    ``on_sent`` is called with the size of each batch once SQS has it (a progress bar's ``update``).
    """
    sent = 0
    for batch in events.backfill_batches(bucket, keys, chosen):
        send_batch(sqs, queue_url, batch)
        sent += len(batch)
        if on_sent is not None:
            on_sent(len(batch))
    return sent
