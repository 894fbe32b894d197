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

#: An output can change or go under its key (a changed source rewrites it; ``DELETE /api/uploads/{id}`` removes
#: it), so it is not ``immutable``: browsers and CloudFront keep it at most an hour, which bounds how long a
#: deleted result can still be served from a cache. A result is fetched a few times soon after it is made, so the
#: hour loses almost no cache hits.
OUTPUT_CACHE_CONTROL = "public, max-age=3600"
#: Status records change (a re-upload replaces them): never cache them.
STATUS_CACHE_CONTROL = "no-cache"

class SourceGone(Exception):
    """The source object no longer exists (deleted after its event was sent)."""


class SourceChanged(Exception):
    """The source was replaced between ``head_object`` and the get (the get's ``IfMatch`` failed)."""


class WriteConflict(Exception):
    """A conditional write lost: the object changed (or appeared, or went) since its ETag was read.

    S3 answers 412 ``PreconditionFailed`` when the condition does not hold, 409 ``ConditionalRequestConflict``
    when another conditional write to the key is in flight, and 404 for ``If-Match`` on a key that is gone.
    ``source_etag`` is set by the workflow: the source version whose job lost.
    """

    source_etag: str | None = None


def write_condition(etag: str | None) -> dict[str, str]:
    """The ``put_object`` arguments that make a write land only on the object last read: ``IfMatch`` its ETag,
    or ``IfNoneMatch="*"`` (no object yet) when there was none."""
    return {"IfNoneMatch": "*"} if etag is None else {"IfMatch": f'"{etag}"'}


_CONFLICT_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})


def _conditional_put(s3, condition: dict[str, str], **request) -> dict:
    try:
        return s3.put_object(**request, **condition)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code in _CONFLICT_CODES or (condition.get("IfMatch") and is_not_found(exc)):
            raise WriteConflict(f"s3://{request['Bucket']}/{request['Key']} changed since it was read ({code})") from exc
        raise


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
    412 and ``SourceChanged`` is raised (the workflow starts the job over from the new version).
    """
    s3 = s3 or aws.s3_client()
    try:
        response = s3.get_object(Bucket=bucket, Key=key, IfMatch=f'"{etag}"')
    except ClientError as exc:
        if is_not_found(exc):
            raise SourceGone(f"s3://{bucket}/{key} does not exist") from exc
        if str(exc.response.get("Error", {}).get("Code")) in ("PreconditionFailed", "412"):
            raise SourceChanged(f"s3://{bucket}/{key} was replaced after its head") from exc
        raise
    with response["Body"] as body:
        return body.read()


#: The only content types an output is ever written with: what the image library encodes. Anything else (say a
#: decoder exploit asking for ``text/html`` under the page's origin) is refused before the write.
OUTPUT_CONTENT_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/bmp", "image/avif"})


class UnsafeContentType(ValueError):
    """An output content type outside ``OUTPUT_CONTENT_TYPES``: never written."""


def put_output(bucket: str, key: str, data: bytes, content_type: str, metadata: dict[str, str], s3=None,
               condition: dict[str, str] | None = None) -> str:
    """Write a pixelated image; returns its ETag (unquoted).

    ``content_type`` must be one of ``OUTPUT_CONTENT_TYPES`` (else ``UnsafeContentType``). ``condition`` (from
    ``write_condition``) makes the write conditional: ``WriteConflict`` when the object changed since it was read.
    """
    if content_type not in OUTPUT_CONTENT_TYPES:
        raise UnsafeContentType(f"refusing to write {key} as {content_type!r}: not an image type the service encodes")
    s3 = s3 or aws.s3_client()
    response = _conditional_put(
        s3,
        condition or {},
        Bucket=bucket,
        Key=key,
        Body=data,
        ContentType=content_type,
        CacheControl=OUTPUT_CACHE_CONTROL,
        Metadata=metadata,
    )
    return unquote_etag(response["ETag"])


def put_status(bucket: str, key: str, record: dict, s3=None, condition: dict[str, str] | None = None,
               metadata: dict[str, str] | None = None) -> str:
    """Write a status record; returns its ETag (unquoted). ``condition`` as for ``put_output``; ``metadata`` is
    the object's user metadata (not part of the record)."""
    s3 = s3 or aws.s3_client()
    response = _conditional_put(
        s3,
        condition or {},
        Bucket=bucket,
        Key=key,
        Body=to_json(record),
        ContentType="application/json",
        CacheControl=STATUS_CACHE_CONTROL,
        Metadata=metadata or {},
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


def read_status_version(bucket: str, key: str, s3=None) -> tuple[dict | None, str | None]:
    """The status record at ``key`` (None when absent or not a JSON object) and the ETag of the object
    (None when there is no object): what a conditional write of the next record is made against."""
    s3 = s3 or aws.s3_client()
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_not_found(exc):
            return None, None
        raise
    with response["Body"] as body:
        return from_json(body.read()), unquote_etag(response["ETag"])


def object_etag(bucket: str, key: str, s3=None) -> str | None:
    """The ETag (unquoted) of ``key``, or None when there is no such object."""
    head = _head_or_none(bucket, key, s3 or aws.s3_client())
    return None if head is None else unquote_etag(head["ETag"])


def output_etag(bucket: str, key: str, s3=None) -> str | None:
    """The ETag (unquoted) of the output ``key``, or None when there is none yet.

    On AWS the pixelate role may read ``pixelated/*`` but not list it (a listing would enumerate everyone's
    results), so S3 answers a missing output 403, not 404: here 403 means "none yet". Were it a real denial of an
    output that exists, the write conditioned on its absence would fail (412) and the job go back to the queue,
    never overwrite it."""
    try:
        return object_etag(bucket, key, s3)
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 403:
            return None
        raise


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


def output_source(bucket: str, key: str, s3=None) -> dict[str, str] | None:
    """Which original an output object was made from, as a record's ``source`` says it (its ``source-version``
    metadata; ``source-etag`` on an output written before versions), or None when there is no such object."""
    head = _head_or_none(bucket, key, s3 or aws.s3_client())
    if head is None:
        return None
    metadata = {str(k).lower(): v for k, v in (head.get("Metadata") or {}).items()}
    if "source-version" in metadata:
        return {"version": metadata["source-version"]}
    return {"etag": metadata["source-etag"]} if "source-etag" in metadata else {}


def delete_source(bucket: str, key: str, s3=None) -> None:
    s3 = s3 or aws.s3_client()
    s3.delete_object(Bucket=bucket, Key=key)


#: SNS refuses a message over 256 KiB (attributes included); a record past this leaves its regions list out.
SNS_MESSAGE_BYTES = 250_000


def notify(topic_arn: str, record: dict, sns=None) -> str:
    """Publish one status record to SNS; ``state`` and ``reason`` are message attributes for filter policies.

    SNS refuses empty attribute values, so a ``done`` record carries reason ``none``. A record too long for SNS
    (the regions of a crowd, an animation's faces frame by frame: thousands of boxes) is sent without its
    ``regions`` list, with ``regions_total``, their count: the status record holds them all.
    """
    sns = sns or aws.sns_client()
    message = json.dumps(record, ensure_ascii=False)
    if len(message.encode()) > SNS_MESSAGE_BYTES:
        message = json.dumps({**record, "regions": [], "regions_total": len(record.get("regions") or ())}, ensure_ascii=False)
    response = sns.publish(
        TopicArn=topic_arn,
        Message=message,
        MessageAttributes={
            "state": {"DataType": "String", "StringValue": record["state"]},
            "reason": {"DataType": "String", "StringValue": record.get("reason") or "none"},
        },
    )
    return response["MessageId"]
