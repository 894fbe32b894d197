"""What Lambda does around a function, for the local stack: its settings, environment, context and handler.

The runner's workers and the edge's api calls both run a deployed function's handler as a Lambda instance
would: the handler named in the function's configuration, imported as Lambda's Python runtime resolves
``Handler``; the function's environment plus what Lambda sets (names, memory, timeout, region), pointed at
moto; a context object with the time left; and the function's timeout enforced.
"""
from __future__ import annotations

import base64
import hashlib
import importlib
import json
import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from pixelate.deploy.stackfile import LOCAL_CREDENTIALS

#: The credentials every local Lambda instance sees (moto accepts any; real ones must never reach it).
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": LOCAL_CREDENTIALS["aws_access_key_id"],
    "AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["aws_secret_access_key"],
    "AWS_SESSION_TOKEN": "local",
}


@dataclass(frozen=True)
class FunctionSettings:
    """What Lambda would run: read from the function's configuration in the deployed stack."""

    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    timeout_s: int
    memory_mb: int


def moto_client(service: str, endpoint_url: str, region: str):
    """A boto3 client for moto, with fake credentials whatever the environment holds."""
    import boto3

    return boto3.client(service, endpoint_url=endpoint_url, region_name=region, **LOCAL_CREDENTIALS)


def function_settings(configuration: dict) -> FunctionSettings:
    """The settings in a ``get_function_configuration`` answer."""
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


def lambda_environment(function: FunctionSettings, endpoint_url: str, region: str) -> dict[str, str]:
    """The environment a Lambda instance of ``function`` sees, pointed at moto."""
    return {
        **function.environment,
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout_s),
        "_HANDLER": function.handler,
    }


def become_instance(function: FunctionSettings, endpoint_url: str, region: str) -> Callable:
    """Make this process a Lambda instance of ``function``: set its environment, return its handler."""
    os.environ.update(lambda_environment(function, endpoint_url, region))
    return load_handler(function.handler)


def load_handler(handler: str) -> Callable:
    """``package.module.function`` -> the function, as Lambda's Python runtime resolves ``Handler``."""
    module_name, _, attribute = handler.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


class LambdaContext:
    """The context object Lambda passes: names, memory, request id and the time left.

    ``timeout_s`` overrides the function's own (the edge: API Gateway gives up after 29 s whatever it is).
    """

    def __init__(self, function: FunctionSettings, region: str, timeout_s: float | None = None):
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        self.memory_limit_in_mb = function.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = f"local/{os.getpid()}"
        self.region = region
        self._deadline = time.monotonic() + (function.timeout_s if timeout_s is None else timeout_s)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class InvocationTimeout(Exception):
    """The handler ran past the function's configured timeout."""


def _timed_out(_signum, _frame):
    raise InvocationTimeout("Task timed out")


def invoke(handler: Callable, event: dict, context: LambdaContext, timeout_s: float) -> Any:
    """Call ``handler(event, context)``; past ``timeout_s`` it is interrupted with ``InvocationTimeout``, as
    Lambda ends an invocation at the function's timeout (SIGALRM: only on the main thread, where workers call)."""
    timer = threading.current_thread() is threading.main_thread()
    if timer:
        signal.signal(signal.SIGALRM, _timed_out)
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        return handler(event, context)
    finally:
        if timer:
            signal.setitimer(signal.ITIMER_REAL, 0)


# --- Lambda on SQS: the event the function gets, and what its answer means (pure) ---------------------------


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
