"""The progress view of the local stack: a line per finished job (key, state, ms) and running totals.

Workers report each invocation to the parent through a multiprocessing queue (``runner.BatchReport``);
for each message the handler finished, the view reads the object's status record from the processed
bucket, so the line shows what the service recorded, not what the runner guessed.
"""
from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
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


def job_line(key: str, record: dict | None, delivery: int = 1) -> str:
    """One finished job: state, handler time, key, the reason when it failed, the delivery if not the first."""
    if record is None:
        text = f"  {'?':<7} {'':>8}  {key}  (no status record)"
    else:
        ms = record.get("elapsed_ms")
        text = f"  {record.get('state', '?'):<7} {(f'{ms:.0f} ms' if isinstance(ms, (int, float)) else ''):>8}  {key}"
        if record.get("reason"):
            text += f"  [{record['reason']}] {record.get('message') or ''}".rstrip()
    if delivery > 1:
        text += f"  (delivery {delivery})"
    return text


class ProgressView:
    """Prints job lines and totals as worker reports arrive (``LocalStack(on_report=view)``)."""

    def __init__(self, out: TextIO = sys.stdout, quiet: bool = False):
        self.out = out
        self.quiet = quiet
        self.totals = Totals()
        self.stack = None
        self._lock = threading.Lock()
        self._dlq_checked = 0.0

    def attach(self, stack) -> None:
        """Called once the stack has outputs: the view needs its buckets and queues."""
        self.stack = stack
        self._s3 = stack.client("s3")
        self._sqs = stack.client("sqs")

    def __call__(self, report: BatchReport) -> None:
        if self.stack is None or not self.stack.outputs:
            return
        with self._lock:
            self.totals.faults += report.faults_injected
            self.totals.redeliveries += len(report.failed)
            lines = []
            for _bucket, key, delivery in report.deleted:
                record = self.read_status(key)
                if record is not None:
                    self.totals.states[key] = record.get("state", "?")
                lines.append(job_line(key, record, delivery))
            for _bucket, key, delivery in report.failed:
                why = report.error or "transient failure: SQS delivers it again after the visibility timeout"
                lines.append(f"  {'retry':<7} {report.ms:>5.0f} ms  {key}  (delivery {delivery}) {why}")
            self.refresh_dead_letters()
            if not self.quiet and lines:
                self.out.write("\n".join(lines + [self.totals.line()]) + "\n")
                self.out.flush()

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

    def refresh_dead_letters(self) -> None:
        if time.monotonic() - self._dlq_checked < DLQ_REFRESH_S:
            return
        self._dlq_checked = time.monotonic()
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.stack.outputs["DeadLetterQueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        self.totals.dead_lettered = int(attributes["ApproximateNumberOfMessages"])
