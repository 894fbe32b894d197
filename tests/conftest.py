"""Shared fixtures: one moto server per test session (per xdist worker), and the image corpus.

``moto_endpoint`` starts moto's server on a free loopback port and points every boto3 client of the
process at it through the standard environment (``AWS_ENDPOINT_URL``, fake credentials, us-east-1). Tests
keep their state apart by naming their own buckets, queues and topics (``unique_name``) rather than
resetting the server, so fixtures of different modules can share it.
"""
from __future__ import annotations

import logging
from pathlib import Path
import uuid

import pytest

from tests.support.moto import AWS_TEST_ENV, free_port
from tests.support.paths import CORPUS


@pytest.fixture(scope="session")
def moto_endpoint():
    """The URL of a moto server on 127.0.0.1, with the process environment pointed at it."""
    from moto.server import ThreadedMotoServer

    # One access-log line per request drowns the output of a failing test.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in AWS_TEST_ENV.items():
            patch.setenv(name, value)
        patch.setenv("AWS_ENDPOINT_URL", endpoint)
        patch.delenv("AWS_PROFILE", raising=False)
        _reset_cached_clients()
        try:
            yield endpoint
        finally:
            server.stop()
            _reset_cached_clients()


def _reset_cached_clients() -> None:
    """Clients cached before the environment changed would still point elsewhere."""
    from pixelate.service import aws

    aws.reset_clients()


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The directory of the real-world image corpus (tests/corpus, README.md there)."""
    return CORPUS


@pytest.fixture
def unique_name(request):
    """A factory of names unique to this test, valid for S3 buckets, SQS queues and SNS topics."""

    def make(prefix: str = "t") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"

    return make
