"""The local stand-in for Lambda on SQS: worker processes that poll the job queue and call the handler.

Everything the runner does comes from the deployed stack, as Lambda's own poller would read it
(``settings``): the handler and its environment from the function's configuration, batch size and
``ReportBatchItemFailures`` from the event source mapping, the visibility timeout and the redrive policy
from the queue. Each worker (``worker``) is a separate process, as Lambda instances are; a dead one is
replaced, as Lambda starts a new instance. moto's SQS honours the redrive policy on receive (measured in
``tests/local/test_runner.py``).

moto's own Lambda would also react to the mapping: on every message sent to the queue it receives a batch
itself, tries to run the function in Docker, fails, and makes the messages visible again, which costs each
message one of its ``maxReceiveCount`` receives (measured with moto 5.2). The runner takes over the mapping's
job, so it disables the mapping in moto (``take_over``) after reading its settings.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

from pixelate.local import child
from pixelate.local.lambda_sim import moto_client
from pixelate.local.settings import RunnerSettings
from pixelate.local.worker import SQS_MAX_RECEIVE, BatchReport


def take_over(settings: RunnerSettings) -> None:
    """Disable moto's own consumer of the mapping (see the module docstring): the runner is the poller now.

    Before that, moto's consumer has already received the ``s3:TestEvent`` that S3 sends when the deploy
    configures the bucket notification, which costs it one receive; with ``maxReceiveCount`` 1 it would go
    to the dead-letter queue on the runner's first receive. The handler skips test events anyway, so they
    are discarded here, from both queues, once.
    """
    lambda_ = moto_client("lambda", settings.endpoint_url, settings.region)
    lambda_.update_event_source_mapping(UUID=settings.queue.mapping_uuid, Enabled=False)
    sqs = moto_client("sqs", settings.endpoint_url, settings.region)
    queues = [settings.queue.url]
    if settings.queue.dead_letter_arn:
        queues.append(sqs.get_queue_url(QueueName=settings.queue.dead_letter_arn.rsplit(":", 1)[1])["QueueUrl"])
    for queue_url in queues:
        discard_test_events(sqs, queue_url)


def is_test_event(body: str) -> bool:
    try:
        event = json.loads(body)
    except ValueError:
        return False
    return isinstance(event, dict) and event.get("Event") == "s3:TestEvent"


def discard_test_events(sqs, queue_url: str) -> None:
    """Delete the S3 test events waiting in a queue; anything else is made visible again at once."""
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=SQS_MAX_RECEIVE, WaitTimeSeconds=0).get("Messages", [])
    for message in messages:
        if is_test_event(message["Body"]):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        else:
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)


@dataclass
class Runner:
    """N worker processes on the job queue; a dead worker is replaced, as Lambda starts a new instance."""

    settings: RunnerSettings
    workers: int = 2
    fault_rate: float = 0.0
    on_report: Callable[[BatchReport], None] | None = None
    on_workers_changed: Callable[[list[int]], None] | None = None
    log_folder: str | None = None
    restarts: int = 0
    _processes: list = field(default_factory=list, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _threads: list = field(default_factory=list, repr=False)

    def start(self) -> None:
        self._processes = [self._spawn(index) for index in range(self.workers)]
        supervisor = threading.Thread(target=self._supervise, daemon=True, name="runner-supervisor")
        supervisor.start()
        self._threads.append(supervisor)

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self._processes]

    def _spawn(self, index: int) -> subprocess.Popen:
        log = os.path.join(self.log_folder, f"worker-{index}.log") if self.log_folder else None
        process = child.spawn("pixelate.local.worker", log_path=log)
        child.send(process, {"settings": asdict(self.settings), "index": index, "fault_rate": self.fault_rate})
        reader = threading.Thread(target=self._read_reports, args=(process,), daemon=True, name=f"runner-reports-{index}")
        reader.start()
        self._threads.append(reader)
        return process

    def _read_reports(self, process: subprocess.Popen) -> None:
        for message in child.messages(process):
            try:
                report = BatchReport(**message)
            except TypeError:
                continue
            if self.on_report:
                try:
                    self.on_report(report)
                except Exception:  # a broken progress view must not stop the pipeline
                    pass

    def _supervise(self) -> None:
        while not self._stop.wait(0.2):
            with self._lock:
                dead = [i for i, p in enumerate(self._processes) if p.poll() is not None]
                if self._stop.is_set():
                    return
                for index in dead:
                    self._processes[index] = self._spawn(index)
                    self.restarts += 1
            if dead and self.on_workers_changed:
                self.on_workers_changed(self.pids)

    def stop(self, timeout: float = 3.0) -> None:
        """Close the workers' stdin (they finish the batch in hand), then kill what is left at ``timeout``."""
        with self._lock:
            self._stop.set()
        for process in self._processes:
            with contextlib.suppress(OSError):
                process.stdin.close()
        deadline = time.monotonic() + timeout
        for process in self._processes:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for thread in self._threads:
            thread.join(1)
