"""Lambda handlers for the runner's own tests (tests/local/test_runner.py): each one behaves in one known way,
so the runner's Lambda semantics (deletion, batch item failures, redrive, timeout) can be observed alone.
The pipeline tests use the real ``pixelate.service.handler``."""
from __future__ import annotations

import time


def fail_everything(event, context):
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}


def fail_marked(event, context):
    """Fails the records whose body mentions ``fail``."""
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if "fail" in r["body"]]}


def sleep_past_timeout(event, context):
    time.sleep(context.get_remaining_time_in_millis() / 1000 + 5)
    return {"batchItemFailures": []}
