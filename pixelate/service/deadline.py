"""The invocation's deadline: a job is not started when too little time is left, and a job still running when
the time runs short gets a ``failed`` status with reason ``timeout`` before Lambda ends the invocation.

Lambda stops a function at its timeout without a word: no exception, no ``finally``. Without this, an image that
takes longer than the function's timeout would leave no status at all, go round the queue ``maxReceiveCount``
times and land in the dead-letter queue. The watchdog is a timer thread set to fire ``margin_ms`` before the
end; what it runs (writing the timeout status) is the workflow's business. Out of memory cannot be caught the
same way (the process is killed): those messages reach the dead-letter queue, and ``pixelate redrive`` sends
them back once the cause is fixed.
"""
from __future__ import annotations

import contextlib
import os
import threading
from typing import Callable, Iterator

#: How long before the end of the invocation the watchdog fires: enough to write a status record and publish
#: one notification (tens of milliseconds each, with the SDK's retries a few hundred) with room to spare. At most
#: a fifth of the invocation's time, so that a short timeout (5 s is the template's least) still leaves work time.
DEFAULT_MARGIN_MS = 3000
MARGIN_SHARE = 5
MARGIN_VARIABLE = "TIMEOUT_MARGIN_MS"


class OutOfTime(Exception):
    """Too little time is left to start a job: the record is failed back to the queue, untouched (transient)."""


class Deadline:
    """The time left to an invocation, from its Lambda context (``get_remaining_time_in_millis``).

    Without a context (a direct call in a test or a notebook) there is no deadline: nothing is refused and no
    watchdog runs.
    """

    def __init__(self, context=None, margin_ms: int | None = None):
        self._remaining = getattr(context, "get_remaining_time_in_millis", None)
        if margin_ms is None:
            margin_ms = int(os.environ.get(MARGIN_VARIABLE) or DEFAULT_MARGIN_MS)
            remaining = self.remaining_ms()
            if remaining is not None:
                margin_ms = min(margin_ms, remaining // MARGIN_SHARE)
        self.margin_ms = margin_ms

    def remaining_ms(self) -> int | None:
        return None if self._remaining is None else int(self._remaining())

    def check_can_start(self, what: str) -> None:
        """Raise ``OutOfTime`` when less than twice the margin is left: a job started now would almost
        certainly end as a timeout, where the next delivery gets a whole invocation."""
        remaining = self.remaining_ms()
        if remaining is not None and remaining < 2 * self.margin_ms:
            raise OutOfTime(f"{remaining} ms left in the invocation: {what} not started, it is delivered again")

    @contextlib.contextmanager
    def watch(self, on_expiry: Callable[[], None]) -> Iterator[None]:
        """Run ``on_expiry`` on a timer thread ``margin_ms`` before the end, unless the block ends first."""
        remaining = self.remaining_ms()
        if remaining is None:
            yield
            return
        timer = threading.Timer(max(0.0, (remaining - self.margin_ms) / 1000), on_expiry)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
