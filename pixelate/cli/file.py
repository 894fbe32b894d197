"""``pixelate file``: pixelate image files and folders on this machine, with the same core the Lambda uses.

Parse the options once (``pixelate.image.options``, the one strict parser), plan the inputs (``batch.plan``:
folders walked, outputs named), run :func:`pixelate_file` on each, in worker processes, and print one answer
per input in the order given, with a progress bar on a terminal. A new option only touches this module:
it is parsed into ``Options``, which reaches :func:`pixelate_file` unchanged, wherever that runs.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from pathlib import Path

from PIL import Image

from pixelate.cli import batch
from pixelate.cli import workers
from pixelate.cli.progress import progress
from pixelate.image.errors import PixelateError
from pixelate.image.limits import DEFAULT_METHOD, DEFAULT_PIXEL_SIZE, METHODS, Limits, usable_cpus
from pixelate.image.options import Options, parse_options

# Imported here, not in the worker: forked workers then start with the pipeline already loaded.
from pixelate.image.pipeline import Work, run as run_pipeline

#: The fields of every JSON line, in order; ``regions`` only when regions or faces were asked.
FIELDS = ("input", "status", "output", "reason", "message", "format", "width", "height", "frames")


def register(subparsers, name: str) -> None:
    parser = subparsers.add_parser(
        name,
        help="pixelate image files on this machine",
        description="Pixelate image files, and the files of folders (recursively; hidden entries, the --out-dir, "
        "*.pixelated.* outputs and symlinked folders left out). One line per input, in order. "
        "Exit status: 0 all ok (or kept), 2 when any input was rejected, 1 on an internal error.",
    )
    parser.add_argument("inputs", nargs="+", metavar="PATH", help="image files, or folders to walk")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", help="output file (only with a single input file)")
    where.add_argument(
        "--out-dir", help="folder for the outputs, a folder's files at the same relative path (default: beside each input)"
    )
    parser.add_argument(
        "--glob", action="append", default=[], metavar="PATTERN",
        help="in folders, only files whose name (or relative path, with a '/') matches, ignoring case; repeatable",
    )
    parser.add_argument(
        "-j", "--jobs", type=_positive, default=None, metavar="N",
        help="worker processes (default: the CPUs this process may use)",
    )
    parser.add_argument("--skip-existing", action="store_true", help="keep outputs already there (resume a run)")
    parser.add_argument("--size", default=DEFAULT_PIXEL_SIZE, help=f"block size in pixels (default {DEFAULT_PIXEL_SIZE})")
    parser.add_argument("--method", default=DEFAULT_METHOD, help=f"block colour: {' or '.join(METHODS)} (default {DEFAULT_METHOD})")
    privacy = parser.add_argument_group(
        "hiding parts of a photo", "pixelate only chosen rectangles and/or the faces found; the rest is left as it was"
    )
    privacy.add_argument(
        "--region", action="append", default=[], metavar="X,Y,W,H",
        help="a rectangle of the upright image, in pixels (10,20,200,100) or fractions of its size "
        "(0.5,0.5,0.25,0.25); repeatable",
    )
    privacy.add_argument("--faces", action="store_true", help="find faces and pixelate them too")
    privacy.add_argument(
        "--face-blocks", default=None, metavar="N",
        help="most blocks a face may span across (default 8: never recognisable; 0 keeps --size)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per input on stdout")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def options_from_args(args: argparse.Namespace) -> Options:
    """The pixelation options of the command line, through the parser every door uses."""
    chosen = {} if args.face_blocks is None else {"face_blocks": args.face_blocks}
    return parse_options(pixel_size=args.size, method=args.method, regions=";".join(args.region) or None,
                         faces=args.faces, **chosen)


def pixelate_file(source: Path, target: Path | None, options: Options, limits: Limits) -> dict:
    """Pixelate ``source`` into ``target``: the whole work for one file, here or in a worker process.

    Returns the file's record (:data:`FIELDS`); a rejection is a record, not an exception. The output is
    written whole or not at all (a temporary file renamed into place), so an interrupted run leaves no
    truncated output for ``--skip-existing`` to keep.
    """
    record = dict.fromkeys(FIELDS)
    record.update(input=str(source), status="ok")
    try:
        data = source.read_bytes()
    except OSError as error:  # gone since it was planned, or not ours to read: the user's to fix, not a crash
        reason = "not-found" if isinstance(error, FileNotFoundError) else "unreadable"
        record.update(status="rejected", reason=reason, message=f"{source}: {error.strerror or error}")
        return record
    try:
        result = run_pipeline(Work(data, options, limits))
    except PixelateError as exc:
        record.update(status="rejected", reason=exc.reason, message=exc.message)
        return record
    if target is None:  # planning read no image format in the first bytes, the pipeline read one: it changed
        raise RuntimeError(f"{source} changed while it was read")
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")  # hidden: a folder walk skips it
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(result.data)
        os.replace(partial, target)
    except OSError as error:  # a folder where the output goes, a file where its folder goes, no room, no right
        why = ("a folder has its name" if isinstance(error, IsADirectoryError) else
               "a file stands where a folder of its path should be" if isinstance(error, (FileExistsError, NotADirectoryError))
               else error.strerror or str(error))
        record.update(status="rejected", reason="unwritable", message=f"{target}: the output cannot be written there: {why}")
        return record
    finally:
        if partial.parent.is_dir():
            partial.unlink(missing_ok=True)
    record.update(output=str(target), format=result.format, width=result.width, height=result.height, frames=result.frames)
    if options.regions or options.faces:
        record["regions"] = [dict(region) for region in result.regions]
    return record


def crashed_record(item: batch.Item, message: str) -> dict:
    """The record of an input whose work raised or killed its worker: an internal error."""
    record = dict.fromkeys(FIELDS)
    record.update(input=item.name, status="error", reason="internal-error", message=message)
    return record


def planned_record(item: batch.Item) -> dict:
    """The record of an input that planning answered (kept, an output conflict, a missing file)."""
    record = dict.fromkeys(FIELDS)
    outcome = item.outcome
    record.update(input=item.name, status=outcome.status, reason=outcome.reason, message=outcome.message)
    if item.target is not None:
        record["output"] = str(item.target)
    return record


def run(args: argparse.Namespace) -> int:
    if args.output and (len(args.inputs) > 1 or Path(args.inputs[0]).is_dir()):
        return _usage("-o/--output takes a single input file; use --out-dir for several or a folder")
    try:
        options = options_from_args(args)
    except PixelateError as exc:
        return _usage(exc.message)
    if args.output and (problem := _output_format_problem(Path(args.inputs[0]), Path(args.output))):
        return _usage(problem)
    try:
        limits = Limits.from_env()
    except ValueError as exc:  # a limit set in the environment that is no number
        return _usage(str(exc))
    items = batch.plan(
        args.inputs, output=args.output, out_dir=args.out_dir, globs=args.glob, skip_existing=args.skip_existing
    )
    if not items:
        if args.glob:  # a pattern that matches nothing is most likely a typo: a script should hear of it
            patterns = " ".join(f"--glob {pattern!r}" for pattern in args.glob)
            print(f"pixelate file: no file matches {patterns} (case is ignored; hidden files and outputs are left "
                  "out)", file=sys.stderr)
            return 2
        print("pixelate file: no files found (folders are walked without hidden files and outputs)", file=sys.stderr)
        return 0
    if any(item.outcome is None for item in items):
        # The decoders Pillow loads on first use (~0.1 s), loaded once here: forked workers inherit them
        # instead of each loading them again. One process would load them at its first file anyway.
        Image.preinit()
    work = functools.partial(pixelate_file, options=options, limits=limits)
    processes = args.jobs or usable_cpus()
    answers = workers.ordered_results(items, work, processes, crashed_record)
    bar = progress(len(items), sum(item.size for item in items if item.outcome is None), quiet=args.quiet)
    statuses: set[str] = set()
    try:
        for item, record in answers:
            record = planned_record(item) if record is None else {**record, "input": item.name}
            statuses.add(record["status"])
            bar.advance(record["status"], item.size if item.outcome is None else 0)
            _report(record, args.json, bar)
    except KeyboardInterrupt:
        bar.print("pixelate file: interrupted; run it again with --skip-existing to go on", sys.stderr)
        return 130
    except BrokenPipeError:  # stdout closed early (``| head``): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the flush at exit must not fail again
        return 1
    finally:
        answers.close()  # on a stop: the workers finish the files in hand (outputs whole or absent), the rest is dropped
        bar.close()
    return 1 if "error" in statuses else 2 if "rejected" in statuses else 0


def _report(record: dict, as_json: bool, bar) -> None:
    name = record["input"]
    if as_json:
        bar.print(json.dumps(record, ensure_ascii=False), sys.stdout)
    elif record["status"] == "ok":
        frames = f", {record['frames']} frames" if record["frames"] > 1 else ""
        hidden = f", {_hidden(record['regions'])}" if "regions" in record else ""
        bar.print(f"{name} -> {record['output']} ({record['format']} {record['width']}×{record['height']}{frames}{hidden})",
                  sys.stdout)
    elif record["status"] == "skipped":
        bar.print(f"{name} -> {record['output']} (kept: already there)", sys.stdout)
    else:
        bar.print(f"{name}: {record['reason']}: {record['message']}", sys.stderr)


def _hidden(regions: list[dict]) -> str:
    """What was pixelated, said for a person: "2 faces and 1 region pixelated", or "nothing found to pixelate"."""
    spans = [region.get("frames") for region in regions if region.get("source") == "face"]
    manual = len(regions) - len(spans)
    # an animation's face boxes carry the frames they were on: count the most faces on one frame
    runs = [span for span in spans if span]
    faces = len(spans) - len(runs) + max((sum(a <= start <= b for a, b in runs) for start, _ in runs), default=0)
    parts = [f"{count} {word}{'' if count == 1 else 's'}" for count, word in ((faces, "face"), (manual, "region")) if count]
    return f"{' and '.join(parts)} pixelated" if parts else "nothing found to pixelate"


def _output_format_problem(source: Path, output: Path) -> str | None:
    """Why ``-o output`` would mislead: its extension names another format than the one written (the input's
    own, or JPEG for HEIC and MPO: the command does not convert otherwise), so a viewer would be handed, say,
    JPEG bytes in a ``.png``."""
    written, named = batch.planned_format(source), batch.format_named_by(output)
    if written is None or named is None or written == named:
        return None
    return f"-o {output}: the name says {named}, but a pixelated {source.name} is written as {written}; name it {batch.EXTENSIONS[written]}"


def _positive(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def _usage(message: str) -> int:
    print(f"pixelate file: {message}", file=sys.stderr)
    return 2
