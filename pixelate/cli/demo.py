"""``pixelate demo`` (``make demo``): the sample photos through the whole local pipeline.

Brings the local stack up, uploads every photo in ``samples/`` (one with ``x-amz-meta-pixel-size``) and one
file that is not an image, waits for every status record, prints a table, writes a contact sheet to
``out/``, and prints the page's URL. With ``CI`` set or no terminal it then stops and exits 0 exactly when
every upload got the status it should; otherwise it keeps serving until Ctrl-C.
"""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from pixelate.cli.up import add_stack_arguments, banner, interrupt_on_sigterm, serve_until_signalled, stack_from_args
from pixelate.deploy import client
from pixelate.local.demo import PREFIX, STATUS_TIMEOUT_S, Upload, as_expected, demo_uploads, samples_folder, sheet_rows, table, upload_all


def write_contact_sheet(stack, uploads: list[Upload], records: dict[str, dict | None], folder: Path) -> Path:
    from pixelate.lab.contact_sheet import contact_sheet

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo-contact-sheet.png"
    contact_sheet(sheet_rows(stack, uploads, records)).save(path, format="PNG")
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
        view.close()
        stack.stop()
