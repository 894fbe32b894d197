"""Events in, typed jobs out: which objects a Lambda invocation has to pixelate.

Pure parsing, no I/O. One processing function accepts every way an "object created" can reach it:

- an SQS batch (the job queue), each message body one of the shapes below;
- an S3 event notification (``{"Records": [{"eventSource": "aws:s3", ...}]}``), direct or in an SQS body;
- an S3 notification wrapped by SNS (a Lambda SNS event, or the SNS envelope in an SQS body);
- an EventBridge ``Object Created`` event from ``aws.s3``, direct or in an SQS body;
- a backfill message (source ``pixelator.backfill``, below) in an SQS body: an existing object to pixelate, with
  option overrides;
- an S3 Batch Operations invocation (schema 1.0 or 2.0), direct: :func:`batch_operations_tasks`.

S3 writes keys ``quote_plus``-encoded in its notifications (``+`` for a space, ``%2F`` possible, ``%2B`` for
a real ``+``): they are decoded exactly once, here. EventBridge ``Object Created`` events carry the key raw, not
encoded: it is taken as it is. The ``s3:TestEvent`` S3 sends when a notification is
configured, and events that are not object creations, give no job.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, S3Event, SNSEvent
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventBridgeNotificationEvent

from pixelate.image.errors import PixelateError
from pixelate.image.options import (Options, invalid, parse_face_blocks, parse_flag, parse_method, parse_pixel_size,
                                    parse_regions)


@dataclass(frozen=True)
class Job:
    """One object to pixelate. ``etag`` and ``size`` are what the event said; the handler trusts only
    ``head_object`` for both (the object may have changed since the event was sent)."""

    bucket: str
    key: str
    etag: str | None = None
    size: int | None = None
    #: Options that override the object's own metadata, as metadata-style pairs (``{"pixel-size": "24"}``,
    #: keys lowercased): a backfill's or a Batch Operations job's. Parsed with the metadata, never apart.
    overrides: Mapping[str, str] = field(default_factory=dict, hash=False)

    def requested_metadata(self, metadata: Mapping[str, str]) -> dict[str, str]:
        """The object's user metadata with this job's overrides on top: what ``options_from_metadata`` parses. An
        override replaces the object's option under either spelling (``pixel_size`` or ``pixel-size``)."""
        overridden = {metadata_name(key) for key in self.overrides}
        own = {str(k).lower(): v for k, v in metadata.items() if metadata_name(k) not in overridden}
        return {**own, **self.overrides}


def metadata_name(key: object) -> str:
    """An option's name in metadata as the parser reads it: lowercase, ``_`` as ``-``."""
    return str(key).lower().replace("_", "-")


class UnrecognisedEvent(ValueError):
    """An event or message body of no shape this function handles.

    The handler lets it fail the SQS record, so the message goes to the dead-letter queue where someone
    can look at it, rather than being dropped silently.
    """


def event_kind(event: Any) -> str:
    """Which shape a Lambda event (or message body) has: ``sqs``, ``s3``, ``sns``, ``sns-envelope``,
    ``eventbridge``, ``s3-test``, ``backfill``, ``s3-batch-operations`` or ``unknown``."""
    if not isinstance(event, dict):
        return "unknown"
    if event.get("source") == BACKFILL_SOURCE:
        return "backfill"
    if "invocationSchemaVersion" in event and "tasks" in event:
        return "s3-batch-operations"
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
    if kind == "backfill":
        return [job_from_backfill_message(body)]
    if isinstance(body, dict) and body.get("Records") == []:
        return []
    raise UnrecognisedEvent(f"not an S3, SNS, EventBridge or backfill message: {json.dumps(body)[:200]}")


def jobs_from_event(event: dict) -> list[Job]:
    """Jobs of a Lambda event that is not an SQS batch (direct S3, SNS or EventBridge invocation)."""
    kind = event_kind(event)
    if kind == "sqs":
        raise ValueError("an SQS batch is processed record by record: use jobs_from_message on each body")
    if kind == "s3-batch-operations":
        raise ValueError("an S3 Batch Operations invocation is answered task by task: use batch_operations_tasks")
    return jobs_from_message(event)


# --- backfill messages --------------------------------------------------------------------------------------
# What `pixelate backfill` (locally) and the backfill state machine (on AWS) put on the job queue for each
# existing object. The shape is a contract with cloudformation.yaml's BackfillStateMachine, which builds the
# same body in its ItemSelector (tests/deploy/test_backfill_state_machine.py evaluates it against this code):
#
#     {"source": "pixelator.backfill", "bucket": "<originals>", "key": "<the key, not encoded>",
#      "options": {"pixel-size": "24", "method": "nearest"}}
#
# ``options`` are metadata-style string pairs merged over the object's own metadata, then parsed with it by
# ``options_from_metadata``: an option the parser learns is honoured with no change here. The body is compact
# JSON, sent to SQS in batches of BACKFILL_BATCH_SIZE entries whose ``Id`` is the object's index in the listing.

BACKFILL_SOURCE = "pixelator.backfill"
#: Entries per SendMessageBatch (SQS's maximum), and the state machine's ItemBatcher.MaxItemsPerBatch.
BACKFILL_BATCH_SIZE = 10
#: Most option pairs a message may carry (what S3 Batch Operations allows for its user arguments).
MAX_OVERRIDES = 10


def backfill_message(bucket: str, key: str, overrides: Mapping[str, str] | None = None) -> dict:
    """The backfill message of one object: ``source``, ``bucket``, ``key`` (as stored, not encoded), ``options``."""
    return {"source": BACKFILL_SOURCE, "bucket": bucket, "key": key, "options": dict(overrides or {})}


def backfill_entry(index: int, bucket: str, key: str, overrides: Mapping[str, str] | None = None) -> dict:
    """One ``SendMessageBatch`` entry: ``Id`` the object's index in the listing, ``MessageBody`` compact JSON."""
    body = json.dumps(backfill_message(bucket, key, overrides), ensure_ascii=False, separators=(",", ":"))
    return {"Id": str(index), "MessageBody": body}


def backfill_batches(bucket: str, keys: Iterable[str], overrides: Mapping[str, str] | None = None,
                     start: int = 0) -> Iterable[list[dict]]:
    """The ``SendMessageBatch`` entries of ``keys``, BACKFILL_BATCH_SIZE at a time, indexed from ``start``."""
    batch: list[dict] = []
    for index, key in enumerate(keys, start):
        batch.append(backfill_entry(index, bucket, key, overrides))
        if len(batch) == BACKFILL_BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def normalised_overrides(options: Any) -> dict[str, str]:
    """Option overrides as metadata-style pairs with lowercased keys; ``UnrecognisedEvent`` for anything else.

    Only the shape is checked here: the values are parsed with the object's metadata, so an invalid pixel size
    ends as a ``failed`` status with reason ``invalid-option``, as it would in the object's own metadata.
    """
    if options is None:
        return {}
    if not isinstance(options, dict) or len(options) > MAX_OVERRIDES:
        raise UnrecognisedEvent(f"backfill options must be at most {MAX_OVERRIDES} string pairs, not {options!r:.200}")
    if not all(isinstance(k, str) and k and isinstance(v, str) for k, v in options.items()):
        raise UnrecognisedEvent(f"backfill options must be string pairs, not {options!r:.200}")
    return {k.lower(): v for k, v in options.items()}


def job_from_backfill_message(body: dict) -> Job:
    """The job of a backfill message; ``UnrecognisedEvent`` when it lacks a bucket or key, or its options are not
    string pairs (such a message is a sender's bug: it goes to the dead-letter queue to be looked at)."""
    bucket, key = body.get("bucket"), body.get("key")
    if not (isinstance(bucket, str) and bucket and isinstance(key, str) and key):
        raise UnrecognisedEvent(f"a backfill message needs a bucket and a key: {json.dumps(body)[:200]}")
    return Job(bucket=bucket, key=key, overrides=normalised_overrides(body.get("options")))


# --- S3 Batch Operations ------------------------------------------------------------------------------------
# A Batch Operations job with the LambdaInvoke operation calls the function directly, with tasks (one per
# manifest entry; one per invocation today) and expects a result per task (pixelate.service.batch_operations).
# Keys come from the job's manifest, whose contents S3 requires to be URL-encoded, in either schema:
# Powertools' ``s3_key`` decodes them with unquote_plus. Schema 1.0 names the bucket by ARN, 2.0 by name and
# may carry ``job.userArguments``: they are this service's option overrides (metadata-style pairs).


@dataclass(frozen=True)
class BatchTask:
    """One task of a Batch Operations invocation: its id and its job, or why it has none."""

    task_id: str
    job: Job | None
    problem: str | None = None


@dataclass(frozen=True)
class BatchInvocation:
    """A Batch Operations invocation: what the answer must echo, and its tasks."""

    schema_version: str
    invocation_id: str
    tasks: list[BatchTask]


def batch_operations_tasks(event: dict) -> BatchInvocation:
    """The tasks of an S3 Batch Operations invocation (schema 1.0 or 2.0), keys decoded.

    A task without a bucket or key, or a job whose user arguments are not string pairs, has no job and says
    why (``problem``): it is answered as a permanent failure, the others are still processed.
    """
    from aws_lambda_powertools.utilities.data_classes import S3BatchOperationEvent

    invocation = S3BatchOperationEvent(event)
    try:
        overrides, problem = normalised_overrides(invocation.job.user_arguments), None
    except (UnrecognisedEvent, KeyError, TypeError) as error:
        overrides, problem = {}, str(error)
    tasks = []
    for task in invocation.tasks:
        task_id = str(task.get("taskId", ""))
        try:
            job = Job(bucket=task.s3_bucket, key=task.s3_key, overrides=overrides)
        except (KeyError, TypeError, AttributeError):
            tasks.append(BatchTask(task_id, None, f"a task needs s3Key and s3Bucket or s3BucketArn: {json.dumps(task.raw_event)[:200]}"))
            continue
        if problem or not (job.bucket and job.key):
            tasks.append(BatchTask(task_id, None, problem or "the task names no bucket or key"))
        else:
            tasks.append(BatchTask(task_id, job))
    return BatchInvocation(str(invocation.invocation_schema_version), str(invocation.invocation_id), tasks)


# --- options ----------------------------------------------------------------------------------------------
# The uploader chooses options through the object's user metadata (x-amz-meta-pixel-size, x-amz-meta-method,
# x-amz-meta-regions, x-amz-meta-faces, x-amz-meta-face-blocks), which is not in the event: the handler reads it
# with head_object and parses it here, once per object, with the one parser of pixelate.image.options.

PIXEL_SIZE_METADATA = "pixel-size"
METHOD_METADATA = "method"
REGIONS_METADATA = "regions"
FACES_METADATA = "faces"
FACE_BLOCKS_METADATA = "face-blocks"
OPTION_METADATA = frozenset({PIXEL_SIZE_METADATA, METHOD_METADATA, REGIONS_METADATA, FACES_METADATA,
                             FACE_BLOCKS_METADATA})
#: the longest invalid value a status record repeats whole; a longer one is cut and named by its hash
_SHOWN, _SHOWN_CUT = 256, 64


@dataclass(frozen=True)
class RequestedOptions:
    """What an object's metadata asks for, parsed once: the options, or the rejection of an invalid value.

    ``record`` is how the status record states them, valid or not (the idempotency check compares it): each
    value parsed when valid; an invalid pixel size or face-blocks as its number when it is one; any other invalid
    value as given (trimmed; past 256 characters its first 64 and its SHA-256), so that another invalid value
    is another record and gets its own answer.
    """

    options: Options | None
    record: dict
    error: PixelateError | None = None


def options_from_metadata(metadata: dict[str, str], defaults: Options) -> RequestedOptions:
    """The options of a source object from its user metadata; a missing key takes the default.

    Keys are compared case-insensitively (S3 lowercases them; this makes it a guarantee), and ``_`` reads as
    ``-``: ``x-amz-meta-pixel_size`` was ignored, and the photo came back at the default size. One option given
    under both spellings with different values is ``invalid-option``.
    """
    lowered: dict[str, object] = {}
    errors: list[PixelateError] = []
    for key, value in metadata.items():
        name = metadata_name(key)
        # (only an option's: other tools' own metadata is none of the service's business)
        if name in OPTION_METADATA and name in lowered and str(lowered[name]).strip() != str(value).strip():
            errors.append(invalid(f"x-amz-meta-{name} is given twice, with different values ({key!r} is one)."))
        lowered.setdefault(name, value)

    def parsed(key: str, parse, default, shown):
        if key not in lowered:
            return default
        try:
            return parse(lowered[key])
        except PixelateError as rejection:
            errors.append(rejection)
            return shown(str(lowered[key]).strip())

    values = {
        "pixel_size": parsed(PIXEL_SIZE_METADATA, parse_pixel_size, defaults.pixel_size, _number_or_shown),
        "method": parsed(METHOD_METADATA, parse_method, defaults.method, _shown),
        "regions": parsed(REGIONS_METADATA, parse_regions, defaults.regions, _shown),
        "faces": parsed(FACES_METADATA, parse_flag, defaults.faces, _shown),
        "face_blocks": parsed(FACE_BLOCKS_METADATA, parse_face_blocks, defaults.face_blocks, _number_or_shown),
    }
    if errors:
        record = {**values, "regions": _regions_record(values["regions"])}
        if record["faces"] is False and FACE_BLOCKS_METADATA not in lowered:
            del record["face_blocks"]
        return RequestedOptions(None, record, errors[0])
    options = Options(**values)
    return RequestedOptions(options, options.as_record())


def _number_or_shown(text: str) -> int | str:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else _shown(text)


def _shown(text: str) -> str:
    if len(text) <= _SHOWN:
        return text
    return f"{text[:_SHOWN_CUT]}… (sha256 {hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:16]})"


def _regions_record(regions) -> list[str] | str:
    return regions if isinstance(regions, str) else [region.as_text() for region in regions]
