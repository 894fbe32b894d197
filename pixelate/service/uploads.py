"""Deleting one upload's result (``DELETE /api/uploads/{id}``), and the delete key that proves the right to.

The upload id is in the result's URL (``pixelated/uploads/<id>/<name>``), so whoever is shown the image knows it:
the id alone must not be enough to delete. ``POST /api/uploads`` therefore answers a ``delete_token`` (random,
shown once) and signs the SHA-256 of it into the upload as the metadata field ``x-amz-meta-delete-key``; the
processing function copies that field onto the status object's metadata (never into the record, which is
served publicly; a hash would be harmless there, but it has no business being read). ``DELETE`` with the token
in the ``X-Delete-Token`` header deletes when the token's hash matches.

An upload ``uploads/<id>/<name>`` leaves up to three objects: the original (unless the processing function
deleted it already), ``pixelated/<key>`` and ``status/<key>.json``. The original and the output go first and the
status record last, so that a delete that fails part-way leaves the record, and asking again finishes the job.
Deleting a key that is not there is not an error in S3, so a repeated delete is harmless.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from pixelate.service import aws, status

#: The user-metadata field (``x-amz-meta-delete-key``) that carries the SHA-256 of the delete token.
DELETE_KEY_METADATA = "delete-key"
#: The request header ``DELETE /api/uploads/{id}`` reads the token from.
DELETE_TOKEN_HEADER = "x-delete-token"


class NotAllowed(Exception):
    """The token is missing or does not match the upload's delete key."""


def new_delete_token() -> tuple[str, str]:
    """A fresh token (192 random bits, URL-safe) and the delete key (its SHA-256, hex) to sign into the upload."""
    token = secrets.token_urlsafe(24)
    return token, delete_key(token)


def delete_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def delete_upload(originals_bucket: str, processed_bucket: str, upload_prefix: str, token: str | None, s3=None) -> list[str]:
    """Delete every result under ``upload_prefix`` (``uploads/<id>/``) whose delete key ``token`` matches; returns
    the keys deleted, empty when there is no status record (not uploaded yet, still processing, or deleted
    already). Raises ``NotAllowed`` when there is one and the token does not open it."""
    s3 = s3 or aws.s3_client()
    listing = s3.list_objects_v2(Bucket=processed_bucket, Prefix=status.status_prefix(upload_prefix))
    status_keys = [
        obj["Key"] for obj in listing.get("Contents", [])
        if obj["Key"].endswith(".json") and obj["Key"][len(status.STATUS_PREFIX):].startswith(upload_prefix)
    ]
    for status_key in status_keys:  # every one must open before anything is deleted
        metadata = {str(k).lower(): v for k, v in (s3.head_object(Bucket=processed_bucket, Key=status_key).get("Metadata") or {}).items()}
        expected = metadata.get(DELETE_KEY_METADATA)
        if not token or not expected or not hmac.compare_digest(delete_key(token), expected):
            raise NotAllowed(status_key)
    deleted = []
    for status_key in status_keys:
        source_key = status_key[len(status.STATUS_PREFIX):-len(".json")]
        s3.delete_object(Bucket=originals_bucket, Key=source_key)
        s3.delete_object(Bucket=processed_bucket, Key=status.output_key(source_key))
        s3.delete_object(Bucket=processed_bucket, Key=status_key)
        deleted += [source_key, status.output_key(source_key), status_key]
    return deleted
