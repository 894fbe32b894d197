"""S3 and SNS I/O of the processing handler: thin functions over the cached clients of ``pixelate.service.aws``.

Every function takes the client as an argument (defaulting to the shared one) and returns plain values;
the decisions (what to process, what a failure means) live in ``pixelate.service.workflow``. Errors other than
"the object is not there" propagate as botocore raised them: the handler treats them as transient.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from pixelate.service import aws
from pixelate.service.aws import is_not_found
from pixelate.service.status import from_json, to_json

#: The output is immutable under its key for a given source ETag and options; a changed source rewrites it,
#: and CloudFront invalidation (or a versioned key) is the deployer's business.
OUTPUT_CACHE_CONTROL = "public, max-age=31536000, immutable"
#: Status records change (a re-upload replaces them): never cache them.
STATUS_CACHE_CONTROL = "no-cache"

class SourceGone(Exception):
    """The source object no longer exists (deleted after its event was sent)."""


@dataclass(frozen=True)
class SourceHead:
    """What ``head_object`` says about a source: the ETag (unquoted), its size and its user metadata
    (keys lowercased: S3 and boto3 already lowercase them, this makes it a guarantee)."""

    etag: str
    size: int
    metadata: dict[str, str] = field(default_factory=dict)


def unquote_etag(etag: str) -> str:
    return etag.strip('"')


def head_source(bucket: str, key: str, s3=None) -> SourceHead:
    s3 = s3 or aws.s3_client()
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_not_found(exc):
            raise SourceGone(f"s3://{bucket}/{key} does not exist") from exc
        raise
    metadata = {str(k).lower(): str(v) for k, v in (head.get("Metadata") or {}).items()}
    return SourceHead(etag=unquote_etag(head["ETag"]), size=int(head["ContentLength"]), metadata=metadata)


def read_source(bucket: str, key: str, etag: str, s3=None) -> bytes:
    """The bytes of the source version whose ETag is ``etag``, into memory (Lambda's /tmp is not used).

    ``IfMatch`` pins the version head_object saw: if the object was replaced in between, S3 answers
    412 and the error propagates (transient: the retry sees the new version, whose own event also comes).
    """
    s3 = s3 or aws.s3_client()
    try:
        response = s3.get_object(Bucket=bucket, Key=key, IfMatch=f'"{etag}"')
    except ClientError as exc:
        if is_not_found(exc):
            raise SourceGone(f"s3://{bucket}/{key} does not exist") from exc
        raise
    with response["Body"] as body:
        return body.read()


def put_output(bucket: str, key: str, data: bytes, content_type: str, metadata: dict[str, str], s3=None) -> str:
    """Write a pixelated image; returns its ETag (unquoted)."""
    s3 = s3 or aws.s3_client()
    response = s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=data,
        ContentType=content_type,
        CacheControl=OUTPUT_CACHE_CONTROL,
        Metadata=metadata,
    )
    return unquote_etag(response["ETag"])


def put_status(bucket: str, key: str, record: dict, s3=None) -> str:
    """Write a status record; returns its ETag (unquoted)."""
    s3 = s3 or aws.s3_client()
    response = s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=to_json(record),
        ContentType="application/json",
        CacheControl=STATUS_CACHE_CONTROL,
    )
    return unquote_etag(response["ETag"])


def read_status(bucket: str, key: str, s3=None) -> dict | None:
    """The status record at ``key``, or None when there is none (or it is not a JSON object)."""
    s3 = s3 or aws.s3_client()
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise
    with response["Body"] as body:
        return from_json(body.read())


def latest_status(bucket: str, prefix: str, s3=None) -> dict | None:
    """The newest status record under ``prefix`` (by the time S3 stored it), or None when there is none yet.

    A record that is not a JSON object counts as not there yet, as it does for the handler.
    """
    s3 = s3 or aws.s3_client()
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    records = sorted(
        (obj for obj in listing.get("Contents", []) if obj["Key"].endswith(".json")), key=lambda obj: obj["LastModified"]
    )
    return read_status(bucket, records[-1]["Key"], s3) if records else None


def _head_or_none(bucket: str, key: str, s3) -> dict | None:
    """``head_object`` of ``key``, or None when it does not exist (other errors propagate: they are transient)."""
    try:
        return s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise


def is_confirmed(bucket: str, key: str, etag: str, s3=None) -> bool:
    """True when ``key`` exists with ETag ``etag``: the write we made is the object S3 now serves."""
    head = _head_or_none(bucket, key, s3 or aws.s3_client())
    return head is not None and unquote_etag(head["ETag"]) == etag


def output_source_etag(bucket: str, key: str, s3=None) -> str | None:
    """The ``source-etag`` metadata of an output object, or None when there is no such object."""
    head = _head_or_none(bucket, key, s3 or aws.s3_client())
    if head is None:
        return None
    return {str(k).lower(): v for k, v in (head.get("Metadata") or {}).items()}.get("source-etag")


def delete_source(bucket: str, key: str, s3=None) -> None:
    s3 = s3 or aws.s3_client()
    s3.delete_object(Bucket=bucket, Key=key)


def notify(topic_arn: str, record: dict, sns=None) -> str:
    """Publish one status record to SNS; ``state`` and ``reason`` are message attributes for filter policies.

    SNS refuses empty attribute values, so a ``done`` record carries reason ``none``.
    """
    sns = sns or aws.sns_client()
    response = sns.publish(
        TopicArn=topic_arn,
        Message=json.dumps(record, ensure_ascii=False),
        MessageAttributes={
            "state": {"DataType": "String", "StringValue": record["state"]},
            "reason": {"DataType": "String", "StringValue": record.get("reason") or "none"},
        },
    )
    return response["MessageId"]
