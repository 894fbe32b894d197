"""The local stand-in for Lambda on SQS: worker processes that poll the job queue and call the handler.

Everything the runner does comes from the deployed stack, as Lambda's own poller would read it:
the handler and its environment from the function's configuration, batch size and
``ReportBatchItemFailures`` from the event source mapping, the visibility timeout and the redrive policy
from the queue. Each worker is a separate process, as Lambda instances are, and:

- long-polls the queue for up to ``BatchSize`` messages (at most 10 per receive, as the SQS API allows),
- calls the handler with the real SQS event shape and a Lambda context,
- deletes the messages the handler did not report as failed, and leaves the failed ones alone: SQS makes
  them visible again after the visibility timeout, and moves them to the dead-letter queue once they have
  been received ``maxReceiveCount`` times (moto's SQS honours the redrive policy on receive; measured in
  ``tests/test_local_runner.py``). A worker that dies mid-batch deleted nothing, so its messages come back.

moto's own Lambda would also react to the mapping: on every message sent to the queue it receives a batch
itself, tries to run the function in Docker, fails, and makes the messages visible again, which costs each
message one of its ``maxReceiveCount`` receives (measured with moto 5.2). The runner takes over the mapping's
job, so it disables the mapping in moto (``take_over``) after reading its settings.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Callable
from urllib.parse import unquote_plus

#: Credentials for moto: any value works, and real ones must never reach it.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}
#: How long one receive waits for messages: short enough for a worker to notice it should stop.
POLL_WAIT_S = 1
#: The SQS API returns at most this many messages per receive.
SQS_MAX_RECEIVE = 10


@dataclass(frozen=True)
class FunctionSettings:
    """What Lambda would run: read from the function's configuration in the deployed stack."""

    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    timeout_s: int
    memory_mb: int


@dataclass(frozen=True)
class QueueSettings:
    """How Lambda would poll: read from the event source mapping and the queue's attributes."""

    url: str
    arn: str
    mapping_uuid: str
    batch_size: int
    report_batch_item_failures: bool
    visibility_timeout_s: int
    max_receive_count: int | None
    dead_letter_arn: str | None
    max_concurrency: int | None = None  # the mapping's ScalingConfig.MaximumConcurrency: at most this many workers


@dataclass(frozen=True)
class RunnerSettings:
    endpoint_url: str
    region: str
    function: FunctionSettings
    queue: QueueSettings


# --- reading the settings from the stack ------------------------------------------------------------


def aws_client(service: str, endpoint_url: str, region: str):
    """A boto3 client for moto, with fake credentials whatever the environment holds."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def read_settings(endpoint_url: str, region: str, queue_url: str) -> RunnerSettings:
    """The runner's settings for the function mapped to ``queue_url``, as deployed."""
    sqs = aws_client("sqs", endpoint_url, region)
    lambda_ = aws_client("lambda", endpoint_url, region)
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    mappings = lambda_.list_event_source_mappings(EventSourceArn=attributes["QueueArn"])["EventSourceMappings"]
    if len(mappings) != 1:
        raise RuntimeError(f"expected one event source mapping on {attributes['QueueArn']}, found {len(mappings)}")
    mapping = mappings[0]
    configuration = lambda_.get_function_configuration(FunctionName=mapping["FunctionArn"])
    return RunnerSettings(
        endpoint_url=endpoint_url,
        region=region,
        function=function_settings(configuration),
        queue=queue_settings(queue_url, attributes, mapping),
    )


def function_settings(configuration: dict) -> FunctionSettings:
    return FunctionSettings(
        name=configuration["FunctionName"],
        arn=configuration["FunctionArn"],
        handler=configuration["Handler"],
        environment=environment_of(configuration),
        timeout_s=int(configuration.get("Timeout", 3)),
        memory_mb=int(configuration.get("MemorySize", 128)),
    )


def environment_of(configuration: dict) -> dict[str, str]:
    """A function's environment variables as strings (moto keeps a template's numbers as numbers)."""
    variables = configuration.get("Environment", {}).get("Variables", {}) or {}
    return {name: value if isinstance(value, str) else json.dumps(value) for name, value in variables.items()}


def queue_settings(queue_url: str, attributes: dict, mapping: dict) -> QueueSettings:
    redrive = json.loads(attributes["RedrivePolicy"]) if attributes.get("RedrivePolicy") else {}
    scaling = mapping.get("ScalingConfig") or {}
    return QueueSettings(
        url=queue_url,
        arn=attributes["QueueArn"],
        mapping_uuid=mapping["UUID"],
        batch_size=int(mapping.get("BatchSize", 10)),
        report_batch_item_failures="ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", []),
        visibility_timeout_s=int(attributes.get("VisibilityTimeout", 30)),
        max_receive_count=int(redrive["maxReceiveCount"]) if "maxReceiveCount" in redrive else None,
        dead_letter_arn=redrive.get("deadLetterTargetArn"),
        max_concurrency=int(scaling["MaximumConcurrency"]) if "MaximumConcurrency" in scaling else None,
    )


def worker_count(requested: int, settings: RunnerSettings) -> int:
    """Lambda runs at most the mapping's MaximumConcurrency instances on the queue; so does the runner."""
    cap = settings.queue.max_concurrency
    return max(1, min(requested, cap) if cap else requested)


def take_over(settings: RunnerSettings) -> None:
    """Disable moto's own consumer of the mapping (see the module docstring): the runner is the poller now.

    Before that, moto's consumer has already received the ``s3:TestEvent`` that S3 sends when the deploy
    configures the bucket notification, which costs it one receive; with ``maxReceiveCount`` 1 it would go
    to the dead-letter queue on the runner's first receive. The handler skips test events anyway, so they
    are discarded here, from both queues, once.
    """
    lambda_ = aws_client("lambda", settings.endpoint_url, settings.region)
    lambda_.update_event_source_mapping(UUID=settings.queue.mapping_uuid, Enabled=False)
    sqs = aws_client("sqs", settings.endpoint_url, settings.region)
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


def lambda_environment(settings: RunnerSettings) -> dict[str, str]:
    """The environment a Lambda instance of the function sees, pointed at moto."""
    function = settings.function
    return {
        **function.environment,
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": settings.endpoint_url,
        "AWS_REGION": settings.region,
        "AWS_DEFAULT_REGION": settings.region,
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout_s),
        "_HANDLER": function.handler,
    }


# --- the event and the response, as Lambda shapes them (pure) -----------------------------------------


def sqs_event(messages: list[dict], queue_arn: str, region: str) -> dict:
    """The SQS event Lambda hands the function for ``messages`` as ``receive_message`` returned them."""
    return {"Records": [sqs_record(message, queue_arn, region) for message in messages]}


def sqs_record(message: dict, queue_arn: str, region: str) -> dict:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: lambda_message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def lambda_message_attribute(value: dict) -> dict:
    """SQS API attribute (``StringValue``...) to the camel-case form Lambda events carry."""
    import base64

    binary = value.get("BinaryValue")
    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary,
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": list(value.get("BinaryListValues", [])),
        "dataType": value.get("DataType", "String"),
    }


def failed_message_ids(response: Any, message_ids: list[str], report_batch_item_failures: bool) -> set[str]:
    """Which messages of a batch Lambda would leave on the queue after the handler returned ``response``.

    Without ``ReportBatchItemFailures`` a return is a success for the whole batch. With it, the
    ``batchItemFailures`` are kept; a malformed answer or an unknown identifier fails the whole batch,
    as Lambda does.
    """
    if not report_batch_item_failures or response is None:
        return set()
    if not isinstance(response, dict):
        return set(message_ids)
    failures = response.get("batchItemFailures", [])
    if not isinstance(failures, list):
        return set(message_ids)
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in message_ids:
            return set(message_ids)
        failed.add(identifier)
    return failed


def object_refs(body: str) -> list[tuple[str, str]]:
    """(bucket, key) of each S3 record in an S3 event notification body; [] for test events and others."""
    try:
        event = json.loads(body)
    except ValueError:
        return []
    records = event.get("Records", []) if isinstance(event, dict) else []
    refs = []
    for record in records:
        s3 = record.get("s3") if isinstance(record, dict) else None
        if isinstance(s3, dict):
            refs.append((s3["bucket"]["name"], unquote_plus(s3["object"]["key"])))
    return refs


class LambdaContext:
    """The context object Lambda passes: names, memory, request id and the time left."""

    def __init__(self, function: FunctionSettings, region: str):
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        self.memory_limit_in_mb = function.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = f"local/{os.getpid()}"
        self.region = region
        self._deadline = time.monotonic() + function.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# --- the worker process ----------------------------------------------------------------------------------


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


class InvocationTimeout(Exception):
    """The handler ran past the function's configured timeout."""


def _timed_out(_signum, _frame):
    raise InvocationTimeout("Task timed out")


def load_handler(handler: str) -> Callable:
    """``package.module.function`` -> the function, as Lambda's Python runtime resolves ``Handler``."""
    module_name, _, attribute = handler.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def worker_main(settings: RunnerSettings, index: int, fault_rate: float, report: Callable[[BatchReport], None],
                stop: threading.Event) -> None:
    """A Lambda instance: poll, invoke, delete, report; until ``stop`` is set."""
    os.environ.update(lambda_environment(settings))
    handler = load_handler(settings.function.handler)
    signal.signal(signal.SIGALRM, _timed_out)
    injector = None
    if fault_rate > 0:
        from pixelate import aws  # the handler's own cached S3 client
        from pixelate.local import faults

        injector = faults.install(aws.s3_client(), fault_rate, seed=os.getpid())
    sqs = aws_client("sqs", settings.endpoint_url, settings.region)
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
    timer = threading.current_thread() is threading.main_thread()
    try:
        if timer:  # Lambda ends an invocation at the function's timeout; SIGALRM does it here
            signal.setitimer(signal.ITIMER_REAL, settings.function.timeout_s)
        response = handler(sqs_event(messages, settings.queue.arn, settings.region), LambdaContext(settings.function, settings.region))
        failed = failed_message_ids(response, ids, settings.queue.report_batch_item_failures)
    except Exception as exc:  # a crashed or timed-out invocation fails the whole batch, as on Lambda
        error = f"{type(exc).__name__}: {exc}"
        failed = set(ids)
    finally:
        if timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
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
    )


def jobs_of(messages: list[dict]) -> list[tuple[str, str, int]]:
    """(bucket, key, delivery number) of each S3 object the messages name."""
    return [
        (bucket, key, int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1)))
        for message in messages
        for bucket, key in object_refs(message["Body"])
    ]


def delete_messages(sqs, queue_url: str, messages: list[dict]) -> None:
    if not messages:
        return
    entries = [{"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]} for i, message in enumerate(messages)]
    answer = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    if answer.get("Failed"):
        raise RuntimeError(f"{len(answer['Failed'])} of {len(entries)} deletions failed: {answer['Failed'][0]}")


# --- the worker as a process of its own ------------------------------------------------------------------
#
# Workers are plain child processes (``python -m pixelate.local.runner``), not multiprocessing ones: spawn
# would re-import the parent's main script, which breaks any script without a ``__main__`` guard. The parent
# writes the settings as one JSON line to the worker's stdin and keeps stdin open; the worker stops when it
# closes (so a killed parent leaves no orphan) or on SIGTERM. Reports come back as JSON lines on a copy of
# stdout; the handler's own output (Powertools logs JSON to stdout) goes to stderr, the worker's log.


def settings_from_dict(data: dict) -> RunnerSettings:
    return RunnerSettings(
        endpoint_url=data["endpoint_url"],
        region=data["region"],
        function=FunctionSettings(**data["function"]),
        queue=QueueSettings(**data["queue"]),
    )


def worker_process_main() -> None:
    reports = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the handler's prints and logs go to the log, never into the report channel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the parent, which stops us in order
    config = json.loads(sys.stdin.readline())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()

    def report(batch: BatchReport) -> None:
        reports.write(json.dumps(asdict(batch)) + "\n")

    worker_main(settings_from_dict(config["settings"]), config["index"], config["fault_rate"], report, stop)


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
        log = open(os.path.join(self.log_folder, f"worker-{index}.log"), "ab") if self.log_folder else subprocess.DEVNULL
        process = subprocess.Popen(
            [sys.executable, "-m", "pixelate.local.runner"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1,
            start_new_session=True,  # Ctrl-C reaches the parent only, which stops its workers in order
        )
        if log is not subprocess.DEVNULL:
            log.close()
        config = {"settings": asdict(self.settings), "index": index, "fault_rate": self.fault_rate}
        process.stdin.write(json.dumps(config) + "\n")
        process.stdin.flush()
        reader = threading.Thread(target=self._read_reports, args=(process,), daemon=True, name=f"runner-reports-{index}")
        reader.start()
        self._threads.append(reader)
        return process

    def _read_reports(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            try:
                report = BatchReport(**json.loads(line))
            except (ValueError, TypeError):
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


def settings_summary(settings: RunnerSettings) -> dict:
    """The settings as plain data, for stack.json and the printout of ``pixelate up``."""
    summary = asdict(settings)
    summary["function"].pop("environment")
    return summary


if __name__ == "__main__":
    worker_process_main()
