"""Events in, typed jobs out: which objects a Lambda invocation has to pixelate.

Pure parsing, no I/O. One processing function accepts every way an "object created" can reach it:

- an SQS batch (the job queue), each message body one of the shapes below;
- an S3 event notification (``{"Records": [{"eventSource": "aws:s3", ...}]}``), direct or in an SQS body;
- an S3 notification wrapped by SNS (a Lambda SNS event, or the SNS envelope in an SQS body);
- an EventBridge ``Object Created`` event from ``aws.s3``, direct or in an SQS body.

S3 writes keys ``quote_plus``-encoded in its notifications (``+`` for a space, ``%2F`` possible, ``%2B`` for
a real ``+``): they are decoded exactly once, here. EventBridge ``Object Created`` events carry the key raw, not
encoded: it is taken as it is. The ``s3:TestEvent`` S3 sends when a notification is
configured, and events that are not object creations, give no job.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, S3Event, SNSEvent
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventBridgeNotificationEvent

from pixelate.image.errors import PixelateError
from pixelate.image.options import Options, parse_face_blocks, parse_flag, parse_method, parse_pixel_size, parse_regions


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
    # EventBridge carries the key as it is, not URL-encoded (AWS's own example and real events show ":" and " "
    # raw). Powertools' ``.key`` applies unquote_plus, which turns a real "+" into a space: read the raw field.
    return [Job(bucket=detail.bucket.name, key=detail.object["key"], etag=detail.object.etag or None, size=detail.object.size)]


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
# The uploader chooses options through the object's user metadata (x-amz-meta-pixel-size, x-amz-meta-method,
# x-amz-meta-regions, x-amz-meta-faces, x-amz-meta-face-blocks), which is not in the event: the handler reads it
# with head_object and parses it here, once per object, with the one parser of pixelate.image.options.

PIXEL_SIZE_METADATA = "pixel-size"
METHOD_METADATA = "method"
REGIONS_METADATA = "regions"
FACES_METADATA = "faces"
FACE_BLOCKS_METADATA = "face-blocks"
#: the longest invalid value a status record repeats
_SHOWN = 64


@dataclass(frozen=True)
class RequestedOptions:
    """What an object's metadata asks for, parsed once: the options, or the rejection of an invalid value.

    ``record`` is how the status record states them, valid or not (the idempotency check compares it): each
    value parsed when valid; an invalid pixel size as its number when it is one (else null); any other invalid
    value as given (cut to 64 characters).
    """

    options: Options | None
    record: dict
    error: PixelateError | None = None


def options_from_metadata(metadata: dict[str, str], defaults: Options) -> RequestedOptions:
    """The options of a source object from its user metadata; a missing key takes the default.

    Keys are compared case-insensitively (S3 lowercases them; this makes it a guarantee).
    """
    lowered = {str(k).lower(): v for k, v in metadata.items()}
    errors: list[PixelateError] = []

    def parsed(key: str, parse, default, shown):
        if key not in lowered:
            return default
        try:
            return parse(lowered[key])
        except PixelateError as rejection:
            errors.append(rejection)
            return shown(str(lowered[key]).strip())

    values = {
        "pixel_size": parsed(PIXEL_SIZE_METADATA, parse_pixel_size, defaults.pixel_size, _number_or_none),
        "method": parsed(METHOD_METADATA, parse_method, defaults.method, _cut),
        "regions": parsed(REGIONS_METADATA, parse_regions, defaults.regions, _cut),
        "faces": parsed(FACES_METADATA, parse_flag, defaults.faces, _cut),
        "face_blocks": parsed(FACE_BLOCKS_METADATA, parse_face_blocks, defaults.face_blocks, _number_or_none),
    }
    if errors:
        record = {**values, "regions": _regions_record(values["regions"])}
        if record["faces"] is not True:
            del record["face_blocks"]
        return RequestedOptions(None, record, errors[0])
    options = Options(**values)
    return RequestedOptions(options, options.as_record())


def _number_or_none(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


def _cut(text: str) -> str:
    return text[:_SHOWN]


def _regions_record(regions) -> list[str] | str:
    return regions if isinstance(regions, str) else [region.as_text() for region in regions]
