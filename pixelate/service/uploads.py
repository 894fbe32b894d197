"""Deleting one upload's result: what ``DELETE /api/uploads/{id}`` does, over the cached S3 client.

An upload ``uploads/<id>/<name>`` leaves up to three objects: the original (unless the processing function
deleted it already), ``pixelated/<key>`` and ``status/<key>.json``. The status records under the upload's prefix
say which keys exist; the original and the output go first and the status record last, so that a delete that
fails part-way leaves the record, and asking again finishes the job. Deleting a key that is not there is not an
error in S3, so a repeated delete is harmless.
"""
from __future__ import annotations

from pixelate.service import aws, status


def delete_upload(originals_bucket: str, processed_bucket: str, upload_prefix: str, s3=None) -> list[str]:
    """Delete every result under ``upload_prefix`` (``uploads/<id>/``); returns the keys deleted, empty when
    there is no status record (not uploaded yet, still processing, or deleted already)."""
    s3 = s3 or aws.s3_client()
    listing = s3.list_objects_v2(Bucket=processed_bucket, Prefix=status.status_prefix(upload_prefix))
    deleted = []
    for obj in listing.get("Contents", []):
        status_key = obj["Key"]
        if not status_key.endswith(".json"):
            continue
        source_key = status_key[len(status.STATUS_PREFIX):-len(".json")]
        if not source_key.startswith(upload_prefix):  # never trust a key to stay inside the prefix
            continue
        s3.delete_object(Bucket=originals_bucket, Key=source_key)
        s3.delete_object(Bucket=processed_bucket, Key=status.output_key(source_key))
        s3.delete_object(Bucket=processed_bucket, Key=status_key)
        deleted += [source_key, status.output_key(source_key), status_key]
    return deleted
