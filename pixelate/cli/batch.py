"""Many files for ``pixelate file``: walk folders, name every output, then run the work in worker processes.

Blind to what the per-file work does and to the options it takes:

- :func:`plan` turns the paths on the command line into :class:`Item` s, in a fixed order: folders walked
  (recursively, hidden entries, symlinked folders and the output folder left out), every output named before
  any is written, so that two inputs that would write the same output are caught, never overwrite each other.
- ``pixelate.cli.workers.ordered_results`` then calls ``work(source, target)`` for each item, in this process or
  in N worker processes, and yields the answers in the items' order as soon as the head of the line is done.
"""
from __future__ import annotations

import fnmatch
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from pixelate.image.encode import output_format
from pixelate.image.errors import PixelateError
from pixelate.image.sniff import sniff_format

#: The extension an output gets, by output format, when the input's own does not already name that format.
EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp", "AVIF": ".avif"}
#: Every spelling of each output format's extension that an input's name may keep (compared case-insensitively).
SPELLINGS = {"JPEG": {".jpg", ".jpeg", ".jpe", ".jfif"}, "TIFF": {".tif", ".tiff"}}
#: What marks an output of this command: ``<stem>.pixelated<ext>``. A folder walk leaves such files alone.
MARK = ".pixelated"
#: What an item whose worker process died is told (``workers``).
DIED = "the worker process died while pixelating this file (a crash, or out of memory)"
#: How far past the oldest item not yet yielded jobs may be sent, per worker, by either pool: while one file is
#: slow the others go on, but the answers held for the items after it stay bounded.
WINDOW_PER_WORKER = 16
#: Bytes read to tell a file's format (the ``ftyp`` brands of HEIF/AVIF lie within the first 512).
HEAD_BYTES = 512


@dataclass(frozen=True)
class Outcome:
    """What planning already decided for an input that is not run: ``status`` is ``skipped``, ``rejected`` or
    ``error``, with the ``reason`` code and a human ``message``."""

    status: str
    reason: str
    message: str


@dataclass(frozen=True)
class Item:
    """One input: ``name`` as the user would write it, the file to read, where its output goes (``None`` when
    its first bytes name no image format: the pipeline then says why it is rejected), its size in bytes, and
    the ``outcome`` when planning decided it (skipped, an output conflict, a missing file)."""

    name: str
    source: Path
    target: Path | None
    size: int = 0
    outcome: Outcome | None = None


def output_name(source: Path, fmt: str) -> str:
    """``<stem>.pixelated<ext>``: the input's own extension when it names the output format (``.JPG``,
    ``.jpeg`` and ``.PNG`` are kept as spelled), else the output format's usual one (a HEIC gives ``.jpg``)."""
    suffix = source.suffix
    if suffix.lower() not in SPELLINGS.get(fmt, {EXTENSIONS[fmt]}):
        suffix = EXTENSIONS[fmt]
    return f"{source.stem}{MARK}{suffix}"


#: Extensions of formats that are read but never written (a pixelated copy of one is a JPEG).
READ_ONLY_EXTENSIONS = {".heic": "HEIF", ".heif": "HEIF", ".hif": "HEIF", ".mpo": "MPO"}


def format_named_by(path: Path) -> str | None:
    """The format a file name's extension names (``.PNG`` -> ``PNG``, ``.jpeg`` -> ``JPEG``, ``.heic`` -> ``HEIF``),
    if any."""
    suffix = path.suffix.lower()
    written = (fmt for fmt, extension in EXTENSIONS.items() if suffix in SPELLINGS.get(fmt, {extension}))
    return next(written, READ_ONLY_EXTENSIONS.get(suffix))


def planned_format(source: Path) -> str | None:
    """The format a pixelated copy of ``source`` is written in, from its first bytes; ``None`` when they name
    no allowed format or cannot be read (the per-file work then rejects or reports it with its reason)."""
    try:
        with open(source, "rb") as file:
            head = file.read(HEAD_BYTES)
        return output_format(sniff_format(head))
    except (OSError, PixelateError):
        return None


def plan(
    inputs: Iterable[str],
    *,
    output: str | None = None,
    out_dir: str | None = None,
    globs: Iterable[str] = (),
    skip_existing: bool = False,
) -> list[Item]:
    """The items for the paths given, in order: a file as given, a folder walked (see :func:`walk`).

    ``output`` is the exact output path of a single file input; ``out_dir`` receives the outputs, a folder's
    files at their path relative to that folder (else each output goes beside its input). ``globs`` filter the
    files found in folders (any may match; see :func:`walk`). An output that an earlier item already writes, or
    that is one of the inputs, is a ``rejected`` item with reason ``output-conflict``; with ``skip_existing``
    an output already on disk is a ``skipped`` item; an input that does not exist, cannot be looked at or is not
    a regular file or folder is ``rejected`` with reason ``not-found``, ``unreadable`` or ``not-a-file``.
    """
    out_root = Path(out_dir) if out_dir else None
    avoid = {out_root.resolve()} if out_root else set()
    found: list[tuple[str, Path, Path | None, Outcome | None]] = []  # name, source, folder for the output, outcome
    for given in inputs:
        path = Path(given)
        kind, problem = _input_kind(path, given)
        if problem is not None:
            found.append((given, path, None, problem))
        elif kind == "folder":
            for relative, problem in walk(path, avoid, tuple(globs)):
                source = path / relative
                folder = out_root / relative.parent if out_root else source.parent
                name = os.path.join(given, relative) if relative.parts else given
                found.append((name, source, folder, problem))
        else:
            found.append((given, path, out_root or path.parent, None))
    sources = {_key(source) for _name, source, _folder, problem in found if problem is None}
    claimed: dict[str, str] = {}
    items = []
    for name, source, folder, problem in found:
        if problem is not None:
            items.append(Item(name, source, None, outcome=problem))
            continue
        fmt = None if output else planned_format(source)
        target = Path(output) if output else folder / output_name(source, fmt) if fmt else None
        items.append(_claim(Item(name, source, target, _size(source)), claimed, sources, skip_existing))
    return items


def _input_kind(path: Path, given: str) -> tuple[str | None, Outcome | None]:
    """Whether an input named on the command line is a ``file`` or a ``folder``, or the ``rejected`` outcome
    that says why it is neither (a typo is the user's to fix, not a crash: exit 2, and the other inputs run)."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None, Outcome("rejected", "not-found", f"no such file or folder: {given}")
    except OSError as error:  # no permission to look, a loop of symlinks
        return None, Outcome("rejected", "unreadable", f"{given}: {error.strerror or error}")
    if stat.S_ISDIR(mode):
        return "folder", None
    if stat.S_ISREG(mode):
        return "file", None
    return None, Outcome("rejected", "not-a-file", f"not a regular file or folder (a device, a pipe, a socket): {given}")


def walk(folder: Path, avoid: set[Path], globs: tuple[str, ...] = ()) -> Iterator[tuple[Path, Outcome | None]]:
    """The regular files below ``folder`` as paths relative to it: a folder's files by name, then each of its
    sub-folders in turn, by name.

    Left out: hidden entries (a name starting with ``.``), folders in ``avoid`` (the output folder), symlinked
    folders (never followed: no loops, nothing outside the tree), files named like an output of this command
    (``*.pixelated.*``: a second run over the same folder must not pixelate the first run's outputs), and
    anything not a regular file (FIFOs, sockets, dangling links). Symlinked files are read like files.
    ``globs`` match the file's name, or its relative path when the pattern holds a ``/``, ignoring case.
    A folder that cannot be listed is yielded with a ``rejected`` outcome, reason ``unreadable``.
    """
    patterns = tuple(glob.casefold() for glob in globs)
    stack: list[Path] = [Path()]
    while stack:
        relative = stack.pop()
        try:
            with os.scandir(folder / relative) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            yield relative, Outcome("rejected", "unreadable", f"cannot list the folder: {exc.strerror or exc}")
            continue
        below = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = relative / entry.name
            if entry.is_dir(follow_symlinks=False):
                if Path(entry.path).resolve() not in avoid:
                    below.append(path)
            elif entry.is_file() and not Path(entry.name).stem.endswith(MARK) and _matches(path, patterns):
                yield path, None
        stack.extend(reversed(below))


def _matches(path: Path, patterns: tuple[str, ...]) -> bool:
    if not patterns:
        return True
    name, whole = path.name.casefold(), path.as_posix().casefold()
    return any(fnmatch.fnmatchcase(whole if "/" in pattern else name, pattern) for pattern in patterns)


def _claim(item: Item, claimed: dict[str, str], sources: set[str], skip_existing: bool) -> Item:
    """``item`` as planned: its output claimed, or why it cannot be (a conflict), or skipped."""
    if item.target is None:
        return item
    key = _key(item.target)
    if key in claimed or key in sources:
        whose = f"the output of {claimed[key]}" if key in claimed else "an input of this run"
        conflict = Outcome("rejected", "output-conflict", f"its output {item.target} is already {whose}")
        return Item(item.name, item.source, item.target, item.size, conflict)
    claimed[key] = item.name
    if skip_existing and item.target.exists():
        kept = Outcome("skipped", "output-exists", "the output is already there (--skip-existing)")
        return Item(item.name, item.source, item.target, item.size, kept)
    return item


def _key(path: Path) -> str:
    """One spelling per file for comparing paths (absolute, normalised, case-folded where the system folds)."""
    return os.path.normcase(os.path.abspath(path))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
