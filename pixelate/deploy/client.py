"""A client of a deployed Pixelator: upload originals with their options, wait for their status records.

Works against any ``.pixelate/stack.json`` (docs/architecture.md lists its keys): the local stack (moto,
``EndpointUrl`` set, fake credentials) or a real deployment (no ``EndpointUrl``: boto3's usual credential
chain and region). Used by ``notebooks/pipeline.ipynb``; nothing here runs in the Lambda.
"""
from __future__ import annotations

import mimetypes
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable

from botocore.exceptions import ClientError

from pixelate.deploy.stackfile import LOCAL_CREDENTIALS, is_local
from pixelate.service import store
from pixelate.service.aws import is_not_found
from pixelate.service.status import output_key, status_key


def stack_client(outputs: dict, service: str, config=None):
    """A boto3 client of ``service`` for the stack: moto's endpoint with fake credentials, or AWS as configured."""
    import boto3

    if is_local(outputs):
        return boto3.client(service, endpoint_url=outputs["EndpointUrl"], region_name=outputs.get("Region") or "us-east-1",
                            config=config, **LOCAL_CREDENTIALS)
    return boto3.client(service, region_name=outputs.get("Region"), config=config)


def s3_client(outputs: dict):
    """A boto3 S3 client for the stack: moto's endpoint with fake credentials, or AWS as configured."""
    return stack_client(outputs, "s3")


@dataclass(frozen=True)
class Upload:
    """One file to upload: its name, bytes and the options that travel as object metadata."""

    name: str
    data: bytes
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"


def run_prefix(label: str = "notebook") -> str:
    """A fresh key prefix per run: status records of an earlier run must not answer for this one."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{label}/{stamp}-{uuid.uuid4().hex[:8]}/"


def identity(iterable, **_kwargs):
    return iterable


def upload_files(s3, bucket: str, uploads: Iterable[Upload], prefix: str, progress: Callable = identity) -> dict[str, Upload]:
    """Put every upload at ``prefix + name`` with its metadata; key → upload, in upload order.

    ``progress`` wraps the iterable (``tqdm.auto.tqdm`` in a notebook).
    """
    uploads = list(uploads)
    keys = {}
    for upload in progress(uploads, desc="upload", unit="file", total=len(uploads)):
        key = prefix + upload.name
        s3.put_object(Bucket=bucket, Key=key, Body=upload.data, ContentType=upload.content_type, Metadata=upload.metadata)
        keys[key] = upload
    return keys


def read_status(s3, bucket: str, key: str) -> dict | None:
    """The status record of original ``key``, or None while there is none."""
    return store.read_status(bucket, status_key(key), s3)


def wait_for_status(s3, bucket: str, keys: Iterable[str], timeout: float = 60.0, poll_s: float = 0.25,
                    progress: Callable | None = None) -> dict[str, dict | None]:
    """Poll until every key has a status record or ``timeout`` passes; key → record (None: none came).

    ``progress`` is a tqdm-like class: it is given ``total`` and updated once per record that arrives.
    """
    pending = list(keys)
    records: dict[str, dict | None] = {key: None for key in pending}
    bar = progress(total=len(pending), desc="status", unit="file") if progress else None
    deadline = time.monotonic() + timeout
    try:
        while pending:
            for key in list(pending):
                record = read_status(s3, bucket, key)
                if record is not None:
                    records[key] = record
                    pending.remove(key)
                    if bar is not None:
                        bar.update(1)
            if pending:
                if time.monotonic() > deadline:
                    break
                time.sleep(poll_s)
    finally:
        if bar is not None:
            bar.close()
    return records


def fetch_output(s3, bucket: str, key: str) -> bytes | None:
    """The pixelated image of original ``key``, or None when there is none."""
    try:
        return s3.get_object(Bucket=bucket, Key=output_key(key))["Body"].read()
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise


def outcome_rows(keys: dict[str, Upload], records: dict[str, dict | None]) -> list[dict]:
    """One row per upload: name, options sent, state, and the output's facts or the failure's reason."""
    rows = []
    for key, upload in keys.items():
        record = records.get(key) or {}
        output = record.get("output") or {}
        rows.append({
            "name": upload.name,
            "options": ", ".join(f"{k}={v}" for k, v in sorted(upload.metadata.items())) or "defaults",
            "state": record.get("state", "no status"),
            "output": f"{output['content_type']} {output['width']}x{output['height']}" if output else "",
            "reason": record.get("reason") or "",
            "message": record.get("message") or "",
            "elapsed_ms": record.get("elapsed_ms"),
        })
    return rows


def format_rows(rows: Iterable[dict], columns: Iterable[str]) -> str:
    """A fixed-width text table of ``columns``: stable output for a checked notebook cell."""
    rows, columns = list(rows), list(columns)
    widths = {c: max([len(c)] + [len(str(row.get(c, ""))) for row in rows]) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns) for row in rows]
    return "\n".join(line.rstrip() for line in lines)
