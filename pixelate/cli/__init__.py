"""The ``pixelate`` console script.

Each sub-command is a module of this package that exposes ``register(subparsers, name)``: it parses arguments,
calls the layers below (``image``, ``local``, ``deploy``, ``bench``, ``lab``) and prints. A command's module is
imported only when it runs, so ``pixelate file`` never pays for moto or the deploy code.
"""
from __future__ import annotations

import argparse
import importlib
import sys

#: sub-command -> (module that registers it, one-line help shown in ``pixelate --help``)
COMMANDS: dict[str, tuple[str, str]] = {
    "file": ("pixelate.cli.file", "pixelate image files on this machine"),
    "up": ("pixelate.cli.up", "run the whole service on this machine (moto, runner, edge)"),
    "demo": ("pixelate.cli.demo", "bring the local stack up and pixelate the sample photos end to end"),
    "deploy": ("pixelate.cli.deploy", "deploy cloudformation.yaml to AWS or the local stack"),
    "destroy": ("pixelate.cli.deploy", "delete a deployed stack"),
    "package": ("pixelate.cli.deploy", "build the Lambda deployment zip"),
    "backfill": ("pixelate.cli.backfill", "pixelate the photos already in the originals bucket"),
    "bench": ("pixelate.cli.bench", "benchmark pixelation against the tutorial code and peers"),
    "redrive": ("pixelate.cli.redrive", "send the dead-letter queue's messages back to the job queue"),
}


def build_parser(command: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pixelate", description="Pixelator: pixelate images, run and deploy the service.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        if name == command:
            importlib.import_module(module).register(subparsers, name)
        else:
            subparsers.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in COMMANDS else None
    parser = build_parser(command)
    args = parser.parse_args(argv)
    if command is None:
        parser.print_help()
        return 0 if not argv else 2
    return int(args.func(args) or 0)
