"""``pixelate file``: pixelate image files on this machine, with the same core the Lambda uses."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pixelate.image.errors import PixelateError
from pixelate.image.limits import DEFAULT_METHOD, DEFAULT_PIXEL_SIZE, METHODS, Limits

EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp", "AVIF": ".avif"}


def register(subparsers, name: str) -> None:
    parser = subparsers.add_parser(
        name,
        help="pixelate image files on this machine",
        description="Pixelate image files. Exit status: 0 all ok, 2 when any input was rejected, 1 on an internal error.",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files to pixelate")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", help="output file (only with a single input)")
    where.add_argument("--out-dir", help="folder for the outputs (default: beside each input)")
    parser.add_argument("--size", type=int, default=DEFAULT_PIXEL_SIZE, help=f"block size in pixels (default {DEFAULT_PIXEL_SIZE})")
    parser.add_argument("--method", choices=METHODS, default=DEFAULT_METHOD, help=f"block colour (default {DEFAULT_METHOD})")
    parser.add_argument("--json", action="store_true", help="one JSON object per input on stdout")
    parser.set_defaults(func=run)


def output_path(source: Path, fmt: str, output: str | None, out_dir: str | None) -> Path:
    """Where a result goes: -o as given, else ``<stem>.pixelated<ext>`` (the extension of the *output* format)."""
    if output:
        return Path(output)
    folder = Path(out_dir) if out_dir else source.parent
    return folder / f"{source.stem}.pixelated{EXTENSIONS[fmt]}"


def process(source: Path, args: argparse.Namespace, limits: Limits) -> dict:
    """Pixelate one file and write its output; a rejection is a record, not an exception."""
    from pixelate.image.pipeline import pixelate_bytes

    record = {"input": str(source), "status": "ok", "output": None, "reason": None, "message": None,
              "format": None, "width": None, "height": None, "frames": None}
    try:
        data = source.read_bytes()
        result = pixelate_bytes(data, args.size, args.method, limits)
    except PixelateError as exc:
        record.update(status="rejected", reason=exc.reason, message=exc.message)
        return record
    target = output_path(source, result.format, args.output, args.out_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(result.data)
    record.update(output=str(target), format=result.format, width=result.width, height=result.height, frames=result.frames)
    return record


def run(args: argparse.Namespace) -> int:
    if args.output and len(args.inputs) > 1:
        print("pixelate file: -o/--output takes a single input; use --out-dir for several", file=sys.stderr)
        return 2
    limits = Limits.from_env()
    rejected = failed = False
    for name in args.inputs:
        source = Path(name)
        try:
            if not source.is_file():
                raise FileNotFoundError(f"no such file: {name}")
            record = process(source, args, limits)
        except Exception as exc:  # an internal error (I/O, a bug): report it and go on with the others
            failed = True
            record = {"input": name, "status": "error", "output": None, "reason": "internal-error",
                      "message": str(exc), "format": None, "width": None, "height": None, "frames": None}
        rejected |= record["status"] == "rejected"
        if args.json:
            print(json.dumps(record, ensure_ascii=False), flush=True)
        elif record["status"] == "ok":
            frames = f", {record['frames']} frames" if record["frames"] > 1 else ""
            print(f"{name} -> {record['output']} ({record['format']} {record['width']}×{record['height']}{frames})")
        else:
            print(f"{name}: {record['reason']}: {record['message']}", file=sys.stderr)
    return 1 if failed else 2 if rejected else 0
