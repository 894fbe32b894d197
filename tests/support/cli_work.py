"""``pixelate file`` with per-file work that misbehaves on purpose, run as its own process:

    python -m tests.support.cli_work file PATH... [options]

A file whose name holds ``crash`` kills the worker process that reads it (as a segfault or the out-of-memory
killer would); one whose name holds ``raise`` makes the work raise; every other file is pixelated as usual.
The work is swapped in before the command runs, so worker processes (forked on Linux) run it too.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pixelate.cli.file as file_command
from pixelate.cli import main
from pixelate.image.limits import Limits
from pixelate.image.options import Options

REAL_WORK = file_command.pixelate_file


def misbehaving_work(source: Path, target: Path | None, options: Options, limits: Limits) -> dict:
    if "crash" in source.name:
        os._exit(70)
    if "raise" in source.name:
        raise ValueError(f"a bug met {source.name}")
    return REAL_WORK(source, target, options, limits)


if __name__ == "__main__":
    file_command.pixelate_file = misbehaving_work
    sys.exit(main(sys.argv[1:]))
