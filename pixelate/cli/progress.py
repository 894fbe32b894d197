"""The progress bar of ``pixelate file``: on stderr, only when it is a terminal, only when tqdm is installed.

tqdm comes with the ``cli`` extra (and ``dev``), not with the package's own dependencies: those are what the
Lambda zip holds, and a Lambda has no terminal. Without tqdm the command works the same, without a bar.
"""
from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from typing import TextIO

#: ``pixelate  42%|████      | [00:03<00:04, 5.12MB/s, 10/24 files, 1 rejected]``
BAR_FORMAT = "{desc} {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}, {rate_fmt}{postfix}]"


class Progress:
    """Files done of the total, how many were rejected or failed, MB/s read and the time left, on a bar whose
    length is the bytes to read (a 40 MB PNG counts for more than a thumbnail). Without a bar, every method
    does nothing but print."""

    def __init__(self, files: int, bar=None, stream: TextIO | None = None):
        self.files, self.bar, self.stream = files, bar, stream
        self.done = self.rejected = self.failed = self.skipped = 0
        if bar is not None:
            bar.set_postfix_str(self._counts())

    def advance(self, status: str, size: int) -> None:
        """One more input answered with ``status``; ``size`` bytes of it were read (0 for one not run)."""
        self.done += 1
        self.rejected += status == "rejected"
        self.failed += status == "error"
        self.skipped += status == "skipped"
        if self.bar is not None:
            self.bar.set_postfix_str(self._counts(), refresh=False)
            self.bar.update(size)

    def print(self, line: str, file: TextIO) -> None:
        """``line`` on ``file``, the bar lifted off the terminal while it is written there (stdout sent to a
        file or a pipe does not disturb the bar)."""
        on_terminal = self.bar is not None and (file is self.stream or file.isatty())
        with self.bar.external_write_mode(file=self.stream) if on_terminal else nullcontext():
            print(line, file=file, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.refresh()
            self.bar.close()

    def _counts(self) -> str:
        counts = [f"{self.done}/{self.files} files"]
        counts += [f"{n} {what}" for n, what in ((self.rejected, "rejected"), (self.failed, "failed"), (self.skipped, "kept")) if n]
        return ", ".join(counts)


def progress(files: int, total_bytes: int, *, quiet: bool = False, stream: TextIO | None = None) -> Progress:
    """A :class:`Progress` with a bar on ``stream`` (default stderr) when it is a terminal, tqdm is installed
    and not ``quiet``; else one without a bar."""
    stream = sys.stderr if stream is None else stream
    if quiet or not stream.isatty():
        return Progress(files)
    try:
        from tqdm import tqdm
    except ImportError:
        return Progress(files)

    class Bar(tqdm):
        # No monitor thread: worker processes are forked from this one, and a fork must not copy a thread's
        # held locks (the thread only tunes the refresh rate of slow loops, which this bar drives by hand).
        monitor_interval = 0

    # A terminal that reports no size (a bare pseudo-terminal) gets 80×24, not a bar of width 0 on row -1.
    sized = _columns(stream) > 0
    bar = Bar(
        total=total_bytes, desc="pixelate", unit="B", unit_scale=True, unit_divisor=1000, file=stream,
        bar_format=BAR_FORMAT, dynamic_ncols=sized, ncols=None if sized else 80, nrows=None if sized else 24, leave=True,
    )
    return Progress(files, bar, stream)


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError):
        return 0
