"""Events in, typed jobs out: which objects a Lambda invocation has to pixelate.

Pure parsing, no I/O. One processing function accepts every way an "object created" can reach it:

- an SQS batch (the job queue), each message body one of the shapes below;
- an S3 event notification (``{"Records": [{"eventSource": "aws:s3", ...}]}``), direct or in an SQS body;
- an S3 notification wrapped by SNS (a Lambda SNS event, or the SNS envelope in an SQS body);
- an EventBridge ``Object Created`` event from ``aws.s3``, direct or in an SQS body.

S3 writes keys ``quote_plus``-encoded in its notifications (``+`` for a space, ``%2F`` possible, ``%2B`` for
a real ``+``): they are decoded exactly once, here. The ``s3:TestEvent`` S3 sends when a notification is
configured, and events that are not object creations, give no job.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, S3Event, SNSEvent
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventBridgeNotificationEvent

from pixelate.errors import PixelateError
from pixelate.limits import MAX_PIXEL_SIZE, METHODS, MIN_PIXEL_SIZE


@dataclass(frozen=True)
class Job:
    """One object to pixelate. ``etag`` and ``size`` are what the event said; the handler trusts only
    ``head_object`` for both (the object may have changed since the event was sent)."""

    bucket: str
    key: str
    etag: str | None = None
    size: int | None = None


class UnrecognisedEvent(ValueError):
    """An event or message body of no shape this function handles.

    The handler lets it fail the SQS record, so the message goes to the dead-letter queue where someone
    can look at it, rather than being dropped silently.
    """


def event_kind(event: Any) -> str:
    """Which shape a Lambda event has: ``sqs``, ``s3``, ``sns``, ``eventbridge``, ``s3-test`` or ``unknown``."""
    if not isinstance(event, dict):
        return "unknown"
    if event.get("Event") == "s3:TestEvent":
        return "s3-test"
    if "detail-type" in event and "detail" in event:
        return "eventbridge"
    if event.get("Type") == "Notification" and "Message" in event:
        return "sns-envelope"
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        source = records[0].get("eventSource") or records[0].get("EventSource")
        return {"aws:sqs": "sqs", "aws:s3": "s3", "aws:sns": "sns"}.get(source, "unknown")
    return "unknown"


def jobs_from_s3_notification(event: dict) -> list[Job]:
    """Jobs of an S3 event notification: one per ``ObjectCreated:*`` record, keys decoded."""
    jobs = []
    for record in S3Event(event).records:
        if not record.event_name.startswith("ObjectCreated:"):
            continue
        obj = record.s3.get_object
        jobs.append(
            Job(
                bucket=record.s3.bucket.name,
                key=unquote_plus(obj.key),
                etag=obj.etag.strip('"') or None,
                size=obj.get("size"),
            )
        )
    return jobs


def jobs_from_eventbridge(event: dict) -> list[Job]:
    """The job of an EventBridge ``Object Created`` event from S3 (none for other detail types)."""
    if EventBridgeEvent(event).detail_type != "Object Created":
        return []
    detail = S3EventBridgeNotificationEvent(event).detail
    # Powertools' .key already applies unquote_plus: decoding it again would turn a real "+" into a space.
    return [Job(bucket=detail.bucket.name, key=detail.object.key, etag=detail.object.etag or None, size=detail.object.size)]


def jobs_from_sns_event(event: dict) -> list[Job]:
    """Jobs of a Lambda SNS event whose messages are S3 notifications."""
    jobs: list[Job] = []
    for record in SNSEvent(event).records:
        jobs.extend(jobs_from_message(record.sns.message))
    return jobs


def jobs_from_message(body: str | dict) -> list[Job]:
    """Jobs of one message body (an SQS message or an SNS message): any of the shapes this module accepts.

    Raises ``UnrecognisedEvent`` for bodies that are not JSON or of no known shape.
    """
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise UnrecognisedEvent(f"message body is not JSON: {body[:200]!r}") from exc
    kind = event_kind(body)
    if kind == "s3-test":
        return []
    if kind == "s3":
        return jobs_from_s3_notification(body)
    if kind == "eventbridge":
        return jobs_from_eventbridge(body)
    if kind == "sns-envelope":
        return jobs_from_message(body["Message"])
    if kind == "sns":
        return jobs_from_sns_event(body)
    if isinstance(body, dict) and body.get("Records") == []:
        return []
    raise UnrecognisedEvent(f"not an S3, SNS or EventBridge object event: {json.dumps(body)[:200]}")


def jobs_from_event(event: dict) -> list[Job]:
    """Jobs of a Lambda event that is not an SQS batch (direct S3, SNS or EventBridge invocation)."""
    kind = event_kind(event)
    if kind == "sqs":
        raise ValueError("an SQS batch is processed record by record: use jobs_from_message on each body")
    return jobs_from_message(event)


# --- options ----------------------------------------------------------------------------------------------
# The uploader chooses options through the object's user metadata (x-amz-meta-pixel-size, x-amz-meta-method),
# which is not in the event: the handler reads it with head_object and resolves it here.

PIXEL_SIZE_METADATA = "pixel-size"
METHOD_METADATA = "method"


def parse_pixel_size(value: object) -> int:
    """A pixel size from metadata, JSON or a query string: an integer from 2 to 512 (digits only, no sign,
    no fraction). Raises ``PixelateError("invalid-option")``."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _invalid(f"pixel size must be an integer from {MIN_PIXEL_SIZE} to {MAX_PIXEL_SIZE}")
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 6 or not MIN_PIXEL_SIZE <= int(text) <= MAX_PIXEL_SIZE:
        raise _invalid(f"pixel size must be an integer from {MIN_PIXEL_SIZE} to {MAX_PIXEL_SIZE}, not {text[:20]!r}")
    return int(text)


def parse_method(value: object) -> str:
    """A pixelation method, case-insensitive: one of ``pixelate.METHODS``. Raises ``PixelateError("invalid-option")``."""
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in METHODS:
        raise _invalid(f"method must be one of {', '.join(METHODS)}, not {str(value)[:20]!r}")
    return text


def options_from_metadata(metadata: dict[str, str], default_pixel_size: int, default_method: str) -> dict:
    """The options of a source object: ``{"pixel_size": int, "method": str}``.

    Metadata keys are compared case-insensitively; a missing key takes the default. Raises
    ``PixelateError("invalid-option")`` for a value present but invalid.
    """
    lowered = {str(k).lower(): v for k, v in metadata.items()}
    size = lowered.get(PIXEL_SIZE_METADATA)
    method = lowered.get(METHOD_METADATA)
    return {
        "pixel_size": default_pixel_size if size is None else parse_pixel_size(size),
        "method": default_method if method is None else parse_method(method),
    }


def describe_options(metadata: dict[str, str], default_pixel_size: int, default_method: str) -> dict:
    """What the options were, for the status record of a rejection: each value parsed when valid, the
    invalid pixel size as null (the record's ``pixel_size`` is an integer or null), the invalid method as given."""
    lowered = {str(k).lower(): v for k, v in metadata.items()}
    size = lowered.get(PIXEL_SIZE_METADATA)
    method = lowered.get(METHOD_METADATA)
    try:
        pixel_size = default_pixel_size if size is None else parse_pixel_size(size)
    except PixelateError:
        pixel_size = int(size) if str(size).strip().isdigit() and len(str(size).strip()) <= 9 else None
    try:
        method_value = default_method if method is None else parse_method(method)
    except PixelateError:
        method_value = str(method)[:64]
    return {"pixel_size": pixel_size, "method": method_value}


def _invalid(message: str) -> PixelateError:
    return PixelateError("invalid-option", message)
