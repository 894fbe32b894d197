"""The progress view of the local stack: a line per finished job (key, state, ms) and running totals.

Workers report each invocation to the parent through their child channel (``worker.BatchReport``);
for each message the handler finished, the view reads the object's status record from the processed
bucket, so the line shows what the service recorded, not what the runner guessed. A finished message with
no record whose object is gone was skipped by the handler (``skipped-gone``), and says so.

Dead letters: SQS moves a message to the dead-letter queue by itself, on the receive after its last allowed
one, so no worker reports it. The view watches the queue's depth on a timer of its own (``DLQ_REFRESH_S``)
and prints a line for each message that arrives, naming the message that the workers last saw fail on its
final receive (its id, the key it names, and the worker log that holds the handler's reason); the totals'
``dead-lettered`` is the dead-letter queue's depth.
"""
from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from pixelate.deploy import client
from pixelate.local.worker import BatchReport

DLQ_REFRESH_S = 2.0


@dataclass
class Totals:
    states: dict[str, str] = field(default_factory=dict)  # key -> last terminal state seen
    redeliveries: int = 0  # messages left on the queue by a failed invocation
    faults: int = 0  # S3 requests failed on purpose (--inject-faults)
    dead_lettered: int = 0

    def line(self) -> str:
        done = sum(1 for state in self.states.values() if state == "done")
        failed = sum(1 for state in self.states.values() if state == "failed")
        parts = [f"done {done}", f"failed {failed}", f"retrying {self.redeliveries}", f"dead-lettered {self.dead_lettered}"]
        if self.faults:
            parts.append(f"faults injected {self.faults}")
        return "  totals: " + " · ".join(parts)


def job_line(key: str, record: dict | None, delivery: int = 1, gone: bool = False) -> str:
    """One finished job: state, handler time, key, the reason when it failed, the delivery if not the first."""
    if record is None and gone:
        text = f"  {'gone':<7} {'':>8}  {key}  (the object no longer exists: skipped, nothing to pixelate)"
    elif record is None:
        text = f"  {'?':<7} {'':>8}  {key}  (no status record)"
    else:
        ms = record.get("elapsed_ms")
        text = f"  {record.get('state', '?'):<7} {(f'{ms:.0f} ms' if isinstance(ms, (int, float)) else ''):>8}  {key}"
        if record.get("reason"):
            text += f"  [{record['reason']}] {record.get('message') or ''}".rstrip()
    if delivery > 1:
        text += f"  (delivery {delivery})"
    return text


def message_name(message_id: str, keys: list[str]) -> str:
    """A message as a line names it: its id, and the keys it names (if it names any)."""
    if not keys:
        return f"message {message_id} (names no object)"
    return f"message {message_id} ({', '.join(keys)})"


@dataclass
class FinalFailure:
    """A message that failed on the last receive the redrive policy allows: SQS dead-letters it next."""

    message_id: str
    keys: list[str]
    delivery: int
    worker: int


class ProgressView:
    """Prints job lines and totals as worker reports arrive (``LocalStack(on_report=view)``), and a line for
    each message that reaches the dead-letter queue."""

    def __init__(self, out: TextIO = sys.stdout, quiet: bool = False):
        self.out = out
        self.quiet = quiet
        self.totals = Totals()
        self.stack = None
        self._lock = threading.Lock()
        self._dlq_checked = 0.0
        self._final_failures: dict[str, FinalFailure] = {}  # message id -> its last failure, oldest first
        self._closed = threading.Event()
        self._watcher: threading.Thread | None = None

    def attach(self, stack) -> None:
        """Called once the stack has outputs: the view needs its buckets and queues."""
        self.stack = stack
        self._s3 = stack.client("s3")
        self._sqs = stack.client("sqs")
        self._watcher = threading.Thread(target=self._watch_dead_letters, daemon=True, name="progress-dead-letters")
        self._watcher.start()

    def close(self) -> None:
        """Stop watching the dead-letter queue (before the stack stops)."""
        self._closed.set()
        if self._watcher is not None:
            self._watcher.join(5)

    def __call__(self, report: BatchReport) -> None:
        if self.stack is None or not self.stack.outputs:
            return
        with self._lock:
            self.totals.faults += report.faults_injected
            self.totals.redeliveries += len(report.failed)
            lines = []
            for bucket, key, delivery in report.deleted:
                record = self.read_status(key)
                if record is not None:
                    self.totals.states[key] = record.get("state", "?")
                lines.append(job_line(key, record, delivery, gone=record is None and self.is_gone(bucket, key)))
            why = report.error or "transient failure: SQS delivers it again after the visibility timeout"
            for _bucket, key, delivery in report.failed:
                lines.append(f"  {'retry':<7} {report.ms:>5.0f} ms  {key}  (delivery {delivery}) {why}")
            for message_id, keys, delivery in report.failed_messages:
                if not keys:  # a message naming no object has no line above
                    self.totals.redeliveries += 1
                    why_here = report.error or f"the handler failed it (see {self.log_path(report.worker)})"
                    lines.append(f"  {'retry':<7} {report.ms:>5.0f} ms  {message_name(message_id, keys)}  (delivery {delivery}) {why_here}")
                self.note_failure(message_id, list(keys), int(delivery), report.worker)
            lines += self.refresh_dead_letters()
            self.write(lines)

    def write(self, lines: list[str]) -> None:
        """Print job lines (unless quiet; dead-letter lines always) and the totals under them."""
        if self.quiet:
            lines = [line for line in lines if line.lstrip().startswith("dead-lettered")]
        if lines:
            self.out.write("\n".join(lines + [self.totals.line()]) + "\n")
            self.out.flush()

    def note_failure(self, message_id: str, keys: list[str], delivery: int, worker: int) -> None:
        """Remember a message that failed on its last allowed receive: the next dead letter is probably it."""
        max_receives = self.max_receive_count()
        self._final_failures.pop(message_id, None)
        if max_receives and delivery >= max_receives:
            self._final_failures[message_id] = FinalFailure(message_id, keys, delivery, worker)

    def max_receive_count(self) -> int | None:
        settings = getattr(self.stack, "settings", None)
        return getattr(getattr(settings, "queue", None), "max_receive_count", None)

    def log_path(self, worker: int | str) -> str:
        """The log of worker ``worker`` (a number, or ``*`` for every worker's)."""
        folder = getattr(self.stack, "folder", None)
        if folder is None:
            return "the worker's log"
        return str(Path(folder) / ".pixelate" / "logs" / f"worker-{worker}.log")

    def wait_until_reported(self, keys, timeout: float = 5.0) -> None:
        """Let the job lines of ``keys`` print before a caller prints below them (reports trail the records)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if all(key in self.totals.states for key in keys):
                    return
            time.sleep(0.05)

    def read_status(self, key: str) -> dict | None:
        try:
            return client.read_status(self._s3, self.stack.outputs["ProcessedBucket"], key)
        except Exception:
            return None  # a transient read error: the next refresh asks again (no record at all is None already)

    def is_gone(self, bucket: str, key: str) -> bool:
        """Whether the object a finished job named no longer exists (the handler skipped it: ``skipped-gone``)."""
        from botocore.exceptions import ClientError

        from pixelate.service.aws import is_not_found

        try:
            self._s3.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            return is_not_found(error)
        except Exception:  # moto busy or stopping: not known to be gone
            return False
        return False

    def _watch_dead_letters(self) -> None:
        while not self._closed.wait(DLQ_REFRESH_S):
            try:
                with self._lock:
                    self.write(self.refresh_dead_letters(force=True))
            except Exception:  # the stack is stopping, or moto is busy: the next round asks again
                pass

    def refresh_dead_letters(self, force: bool = False) -> list[str]:
        """Read the dead-letter queue's depth; a line for each message that arrived since the last look."""
        if not force and time.monotonic() - self._dlq_checked < DLQ_REFRESH_S:
            return []
        self._dlq_checked = time.monotonic()
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.stack.outputs["DeadLetterQueueUrl"],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        depth = int(attributes.get("ApproximateNumberOfMessages", 0)) + int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
        arrived, self.totals.dead_lettered = depth - self.totals.dead_lettered, depth
        return [self.dead_letter_line() for _ in range(max(0, arrived))]

    def dead_letter_line(self) -> str:
        """The line for one message that reached the dead-letter queue: the oldest final failure, if any."""
        queue = "the dead-letter queue"
        if not self._final_failures:
            return (f"  dead-lettered  a message reached {queue} (no worker reported its last failure; "
                    f"see {self.log_path('*')})")
        failure = self._final_failures.pop(next(iter(self._final_failures)))
        return (f"  dead-lettered  {message_name(failure.message_id, failure.keys)} reached {queue} after "
                f"{failure.delivery} receives; why: {self.log_path(failure.worker)}")
