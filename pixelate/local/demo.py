"""``pixelate demo`` (``make demo``): the sample photos through the whole local pipeline.

Brings the local stack up, uploads every photo in ``samples/`` (one with ``x-amz-meta-pixel-size``) and one
file that is not an image, waits for every status record, prints a table, writes a contact sheet to
``out/``, and prints the page's URL. With ``CI`` set or no terminal it then stops and exits 0 exactly when
every upload got the status it should; otherwise it keeps serving until Ctrl-C.
"""
from __future__ import annotations

import mimetypes
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from pixelate import client
from pixelate.local.up import add_stack_arguments, banner, interrupt_on_sigterm, serve_until_signalled, stack_from_args

PREFIX = "demo/"
#: The sample that carries a pixel size in its metadata, and that size.
METADATA_SAMPLE, METADATA_PIXEL_SIZE = "rocket.jpg", 32
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
    return True


def table(uploads: list[Upload], records: dict[str, dict | None]) -> str:
    """key, state, size, ms, reason: one row per upload, and whether it is what it should be."""
    header = ("key", "state", "size", "ms", "reason", "ok")
    rows = [header]
    for upload in uploads:
        record = records.get(upload.key) or {}
        ms = record.get("elapsed_ms")
        rows.append((
            upload.key,
            record.get("state", "(none)"),
            str((record.get("options") or {}).get("pixel_size", "")),
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


def write_contact_sheet(stack, uploads: list[Upload], records: dict[str, dict | None], folder: Path) -> Path:
    from pixelate.contact_sheet import contact_sheet

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
        rows.append((upload.key, upload.data, pixelated, caption))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo-contact-sheet.png"
    contact_sheet(rows).save(path, format="PNG")
    return path


def register(subparsers, name: str) -> None:
    parser = subparsers.add_parser(
        name,
        help="bring the local stack up and pixelate the sample photos end to end",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    add_stack_arguments(parser)
    parser.add_argument("--samples", type=Path, default=None, help="folder of photos to upload (default: the repository's samples/)")
    parser.add_argument("--out", type=Path, default=Path("out"), help="where the contact sheet goes (default: out/)")
    # Unattended runs take any free port (CI machines run things side by side); a person gets 8000.
    parser.set_defaults(func=run, port=None)


def unattended() -> bool:
    return bool(os.environ.get("CI")) or not sys.stdout.isatty()


def run(args) -> int:
    from pixelate.local.progress import ProgressView

    folder = args.samples or samples_folder()
    if not folder.is_dir():
        print(f"pixelate demo: no sample photos at {folder} (use --samples DIR)", file=sys.stderr)
        return 2
    uploads = demo_uploads(folder)
    if args.port is None:
        args.port = 0 if unattended() else 8000
    interrupt_on_sigterm()
    view = ProgressView(quiet=args.quiet)
    stack = stack_from_args(args, view)
    try:
        print("Starting the local stack ...", flush=True)
        stack.start()
        view.attach(stack)
        print(f"Uploading {len(uploads)} files to s3://{stack.outputs['OriginalsBucket']}/{PREFIX} ...", flush=True)
        upload_all(stack, uploads)
        records = client.wait_for_status(
            stack.client("s3"), stack.outputs["ProcessedBucket"], [upload.key for upload in uploads], STATUS_TIMEOUT_S
        )
        view.wait_until_reported([upload.key for upload in uploads])
        print("\n" + table(uploads, records) + "\n", flush=True)
        sheet = write_contact_sheet(stack, uploads, records, args.out)
        print(f"Contact sheet: {sheet}", flush=True)
        ok = all(as_expected(upload, records.get(upload.key)) for upload in uploads)
        print(("Every upload got the status it should." if ok else "Some uploads did not get the status they should."), flush=True)
        if unattended():
            print(f"Upload page (while the stack runs): {stack.page_url}; stopping now (CI or no terminal).", flush=True)
            return 0 if ok else 1
        print(banner(stack), flush=True)
        serve_until_signalled(threading.Event(), stack)
        return 0 if ok else 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        print(f"pixelate demo: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        stack.stop()
