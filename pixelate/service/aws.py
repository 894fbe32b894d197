"""The AWS clients of the handlers, created once per process.

Lambda keeps a process warm between invocations, so a client (its connection pool, its resolved endpoint
and credentials) is built on first use and then reused. Every S3 call of the processing handler goes through
the one object ``s3_client()`` returns: the local runner registers botocore event hooks on
``s3_client().meta.events`` to inject faults, and tests do the same.

Endpoint, region and credentials come from the standard environment (``AWS_ENDPOINT_URL`` locally, the
Lambda role on AWS); nothing here knows whether it talks to AWS or to moto.
"""
from __future__ import annotations

import functools

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

#: Bounded waits and botocore's standard retry mode: a throttled or 5xx call is retried a few times with
#: back-off inside one invocation; what still fails is raised, and SQS redelivers the message later.
CLIENT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=30,
    retries={"mode": "standard", "max_attempts": 3},
)

#: Presigned URLs must be SigV4: in us-east-1 botocore would otherwise sign them with SigV2, which newer
#: buckets and regions refuse.
PRESIGN_CONFIG = CLIENT_CONFIG.merge(Config(signature_version="s3v4"))


@functools.cache
def s3_client():
    """The S3 client every S3 call of the processing handler uses."""
    return boto3.client("s3", config=CLIENT_CONFIG)


@functools.cache
def s3_presign_client():
    """An S3 client that signs presigned POSTs and URLs with SigV4 (the API handler's uploads)."""
    return boto3.client("s3", config=PRESIGN_CONFIG)


@functools.cache
def sns_client():
    """The SNS client that publishes done/failed notifications."""
    return boto3.client("sns", config=CLIENT_CONFIG)


def reset_clients() -> None:
    """Forget the cached clients, so the next call builds them from the current environment (tests)."""
    for factory in (s3_client, s3_presign_client, sns_client):
        factory.cache_clear()


#: What S3 answers for a key or bucket that does not exist: HEAD gives a bare 404, GET a code.
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})


def is_not_found(exc: ClientError) -> bool:
    """True when a ClientError says the object, key or bucket does not exist (the one test of it, for every caller)."""
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(error.get("Code")) in _NOT_FOUND_CODES or status == 404
