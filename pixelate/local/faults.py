"""Transient S3 faults for the local stack (``pixelate up --inject-faults RATE``).

A hook on the handler's own S3 client (``pixelate.service.aws.s3_client()``), registered in the worker process only,
so production code carries no test switch. The hook answers botocore's ``before-send`` event, which fires
for every HTTP request *inside* the client's retry loop: a fault is S3 answering 500/503, and what follows
is what would follow on AWS. The client's own retries (standard mode, ``pixelate.service.aws.CLIENT_CONFIG``)
absorb most faults; a call whose every attempt fails reaches the handler as a transient ``ClientError``,
which it reports as a batch item failure, so SQS redelivers the message after the visibility timeout and
moves it to the dead-letter queue after ``maxReceiveCount`` receives. With RATE r and the handler's 4 attempts
(1 + 3 retries), a call fails with probability r**4: 1 in 160,000 at 0.05, where the client's retries absorb
everything and the cost is latency; 1 in 12 at 0.5, where SQS redeliveries and, rarely, the DLQ show.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from botocore.awsrequest import AWSResponse

#: (HTTP status, S3 error code) pairs that S3 documents as worth retrying.
TRANSIENT_ERRORS: tuple[tuple[int, str], ...] = (
    (503, "SlowDown"),
    (500, "InternalError"),
    (503, "ServiceUnavailable"),
)


class _Body:
    """The raw stream botocore reads an ``AWSResponse``'s content from."""

    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_kwargs):
        yield self._data


@dataclass
class FaultInjector:
    """Fails ``rate`` of the S3 requests it sees, answering a transient error at random."""

    rate: float
    rng: random.Random = field(default_factory=random.Random)
    requests: int = 0
    injected: int = 0

    def __call__(self, request, **_kwargs):
        self.requests += 1
        if self.rng.random() >= self.rate:
            return None  # let the real request go ahead
        self.injected += 1
        status, code = self.rng.choice(TRANSIENT_ERRORS)
        return fault_response(request.url, request.method, status, code)


def fault_response(url: str, method: str, status: int, code: str) -> AWSResponse:
    """An S3 error response as the wire would carry it (HEAD answers have no body, as in S3)."""
    body = b"" if method == "HEAD" else error_xml(code, "injected by pixelate up --inject-faults")
    headers = {"x-amz-request-id": "injected-fault", "content-type": "application/xml"}
    return AWSResponse(url, status, headers, _Body(body))


def error_xml(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>injected-fault</RequestId></Error>"
    ).encode()


def install(client, rate: float, seed: int | None = None) -> FaultInjector:
    """Make ``rate`` (0..1) of ``client``'s S3 requests fail transiently; returns the injector and its counts."""
    if not 0 <= rate <= 1:
        raise ValueError(f"fault rate must be between 0 and 1, not {rate}")
    injector = FaultInjector(rate=rate, rng=random.Random(seed))
    client.meta.events.register("before-send.s3", injector, unique_id="pixelate-local-faults")
    return injector
