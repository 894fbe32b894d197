"""The demo's uploads: the sample photos (one with ``x-amz-meta-pixel-size``), one of them again with
``x-amz-meta-faces: true`` (only the faces hidden, the rest left as it was) and one file that is not an image,
each with the status it should end with, and what the demo shows of them (``pixelate demo`` runs it)."""
from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

PREFIX = "demo/"
#: The sample that carries a pixel size in its metadata, and that size.
METADATA_SAMPLE, METADATA_PIXEL_SIZE = "rocket.jpg", 32
#: The sample uploaded a second time with faces asked: the photo comes back with its face hidden and nothing else.
FACES_SAMPLE, FACES_KEY = "astronaut.png", "astronaut-faces-only.png"
NOT_AN_IMAGE = ("notes.txt", b"These are meeting notes, not a photo.\n", "text/plain")
STATUS_TIMEOUT_S = 180.0
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp")


@dataclass(frozen=True)
class Upload:
    """One object the demo puts into the originals bucket, and the status it should end with."""

    key: str
    data: bytes
    content_type: str
    metadata: dict[str, str]
    expected_state: str
    expected_reason: str | None = None
    expected_pixel_size: int | None = None
    expected_faces: bool = False  # at least one face found and pixelated (the status record's regions)


def samples_folder() -> Path:
    """``samples/`` of the repository this package lives in."""
    return Path(__file__).resolve().parent.parent.parent / "samples"


def demo_uploads(folder: Path) -> list[Upload]:
    """Every sample photo (one with a pixel size in its metadata) and one text file, made in memory."""
    uploads = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        with_size = path.name == METADATA_SAMPLE
        uploads.append(Upload(
            key=PREFIX + path.name,
            data=path.read_bytes(),
            content_type=mimetypes.guess_type(path.name)[0],
            metadata={"pixel-size": str(METADATA_PIXEL_SIZE)} if with_size else {},
            expected_state="done",
            expected_pixel_size=METADATA_PIXEL_SIZE if with_size else None,
        ))
        if path.name == FACES_SAMPLE:
            uploads.append(Upload(
                key=PREFIX + FACES_KEY,
                data=path.read_bytes(),
                content_type=mimetypes.guess_type(path.name)[0],
                metadata={"faces": "true"},
                expected_state="done",
                expected_faces=True,
            ))
    name, data, content_type = NOT_AN_IMAGE
    uploads.append(Upload(PREFIX + name, data, content_type, {}, "failed", expected_reason="unsupported-format"))
    return uploads


def as_expected(upload: Upload, record: dict | None) -> bool:
    if record is None or record.get("state") != upload.expected_state:
        return False
    if upload.expected_reason and record.get("reason") != upload.expected_reason:
        return False
    if upload.expected_pixel_size and (record.get("options") or {}).get("pixel_size") != upload.expected_pixel_size:
        return False
    if upload.expected_faces and not _faces(record):
        return False
    return True


def _faces(record: dict) -> int:
    return sum(1 for region in record.get("regions") or () if region.get("source") == "face")


def _hidden(record: dict) -> str:
    """What an upload with faces asked hid: "faces 1"; "" for the others."""
    return f"faces {_faces(record)}" if (record.get("options") or {}).get("faces") else ""


def table(uploads: list[Upload], records: dict[str, dict | None]) -> str:
    """key, state, size, ms, reason: one row per upload, and whether it is what it should be."""
    header = ("key", "state", "size", "hidden", "ms", "reason", "ok")
    rows = [header]
    for upload in uploads:
        record = records.get(upload.key) or {}
        ms = record.get("elapsed_ms")
        rows.append((
            upload.key,
            record.get("state", "(none)"),
            str((record.get("options") or {}).get("pixel_size", "")),
            _hidden(record),
            f"{ms:.0f}" if isinstance(ms, (int, float)) else "",
            record.get("reason") or "",
            "yes" if as_expected(upload, records.get(upload.key)) else "NO",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def upload_all(stack, uploads: list[Upload]) -> None:
    s3 = stack.client("s3")
    for upload in uploads:
        s3.put_object(Bucket=stack.outputs["OriginalsBucket"], Key=upload.key, Body=upload.data,
                      ContentType=upload.content_type, Metadata=upload.metadata)


def sheet_rows(stack, uploads: list[Upload], records: dict[str, dict | None]) -> list[tuple]:
    """(name, original, pixelated or None, caption) per upload: what the contact sheet shows."""
    s3 = stack.client("s3")
    rows = []
    for upload in uploads:
        record = records.get(upload.key) or {}
        output = record.get("output") or {}
        pixelated = None
        if record.get("state") == "done" and output.get("key"):
            pixelated = s3.get_object(Bucket=stack.outputs["ProcessedBucket"], Key=output["key"])["Body"].read()
        caption = (f"pixel size {(record.get('options') or {}).get('pixel_size')}" if pixelated
                   else f"{record.get('state', 'no status')}: {record.get('reason') or ''}")
        if pixelated and _hidden(record):
            caption = f"only the faces: {_faces(record)} found"
        rows.append((upload.key, upload.data, pixelated, caption))
    return rows
