"""The status record: the one JSON document per source object that says how its processing ended.

Pure functions, no I/O. The record is written to ``status/<key>.json`` in the processed bucket, returned
by ``GET /api/uploads/{id}`` and sent as the SNS message body. Its fields are a contract (see the README):

    state        "done" | "failed"
    source       {key, version}               version: the original's ETag under a key of the stack's
                                              (``source_version``): no bucket name, no MD5
    output       {key, content_type, width, height, frames, bytes} | null
    options      {pixel_size, method, regions: ["x,y,w,h", ...], faces: bool, face_blocks (with faces)}
    regions      what was pixelated when regions or faces were asked: [{x, y, w, h, block, source, score?,
                 frames?}] (an animation's detected faces: frames [first, last] of the input);
                 [] for a whole image or a failure
    reason       null | one of pixelate.REASONS | one of SERVICE_REASONS
    message      null | a human sentence
    elapsed_ms   int, wall time of this attempt
    finished_at  ISO 8601 UTC, second precision, "Z"

The record is also the commit marker of at-least-once delivery: a record in a terminal state for the same
source ETag and the same options means the work is done, and a repeated event does nothing more.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timezone
from typing import Any

DONE = "done"
FAILED = "failed"
TERMINAL_STATES = (DONE, FAILED)

OUTPUT_PREFIX = "pixelated/"
STATUS_PREFIX = "status/"
#: Where the API's presigned uploads go: ``uploads/<id>/<safe name>``, one key per presign (an upload slot).
UPLOAD_PREFIX = "uploads/"

#: Reasons of a failed record that belong to the service, not to the image (``pixelate.REASONS``): the image
#: library never times out, a Lambda invocation does.
SERVICE_REASONS: dict[str, str] = {
    "timeout": "Processing took longer than the function's timeout allows.",
}


def is_upload_slot(source_key: str) -> bool:
    """Whether ``source_key`` was made by ``POST /api/uploads``: its first final status is its only one."""
    return source_key.startswith(UPLOAD_PREFIX)


def output_key(source_key: str) -> str:
    """Where the pixelated image of ``source_key`` goes in the processed bucket (deterministic)."""
    return OUTPUT_PREFIX + source_key


def status_key(source_key: str) -> str:
    """Where the status record of ``source_key`` goes in the processed bucket (deterministic)."""
    return f"{STATUS_PREFIX}{source_key}.json"


def status_prefix(source_prefix: str) -> str:
    """Where the status records of every source key under ``source_prefix`` go."""
    return STATUS_PREFIX + source_prefix


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def source_version(etag: str, secret: str) -> str:
    """Which version of an original a record or an output answers: its ETag, HMAC'd with ``secret`` (the stack's).

    Records and outputs are public (``status/``, ``pixelated/``), and a single-part upload's ETag is the MD5 of
    the original: anyone holding a result's link could check a guessed unredacted photo against it. The same
    ETag still gives the same version, which is all that idempotency compares."""
    return hmac.new(secret.encode(), etag.encode(), hashlib.sha256).hexdigest()[:32]


def source_of(key: str, etag: str, secret: str) -> dict[str, str]:
    """A record's ``source``: the original's key and version (not its bucket: the name carries the account id)."""
    return {"key": key, "version": source_version(etag, secret)}


def is_same_source(source: object, etag: str, secret: str) -> bool:
    """Whether a record's ``source`` (or ``store.output_source``) names the original version ``etag``."""
    if not isinstance(source, dict):
        return False
    if "version" in source:
        return source["version"] == source_version(etag, secret)
    return source.get("etag") == etag  # a record written before versions (until 2026-12-07): the ETag itself


def done_record(source: dict, options: dict, output: dict, elapsed_ms: int, finished_at: str | None = None,
                regions: list[dict] | tuple = ()) -> dict:
    """The record of a pixelated image. ``output`` has key, content_type, width, height, frames, bytes;
    ``regions`` lists the boxes pixelated when regions or faces were asked."""
    record = _record(DONE, source, options, output, None, None, elapsed_ms, finished_at)
    record["regions"] = [dict(region) for region in regions]
    return record


def failed_record(source: dict, options: dict, reason: str, message: str, elapsed_ms: int, finished_at: str | None = None) -> dict:
    """The record of a permanent rejection: a reason code from ``pixelate.REASONS`` and a human message."""
    return _record(FAILED, source, options, None, reason, message, elapsed_ms, finished_at)


def _record(state, source, options, output, reason, message, elapsed_ms, finished_at) -> dict[str, Any]:
    return {
        "state": state,
        "source": dict(source),
        "output": None if output is None else dict(output),
        "options": dict(options),
        "reason": reason,
        "message": message,
        "regions": [],
        "elapsed_ms": int(elapsed_ms),
        "finished_at": finished_at or utc_now_iso(),
    }


def is_same_work(record: dict | None, etag: str, options: dict, secret: str) -> bool:
    """True when ``record`` already answers this source version with these options (nothing left to do).

    The ETag alone is not enough: copying an object onto itself with new metadata keeps its ETag but
    changes the options, and that must be processed again.
    """
    if not isinstance(record, dict) or record.get("state") not in TERMINAL_STATES:
        return False
    source = record.get("source")
    # A record written before versions (its source names the bucket and the ETag, public) is the work once more:
    # the next event or backfill rewrites it without them.
    return isinstance(source, dict) and "version" in source and is_same_source(source, etag, secret) \
        and record.get("options") == options


def to_json(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def from_json(data: bytes) -> dict | None:
    """The record in ``data``, or None when it is not a JSON object (a damaged record is redone, not trusted)."""
    try:
        record = json.loads(data)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None
