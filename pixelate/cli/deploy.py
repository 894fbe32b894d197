"""``pixelate deploy``, ``pixelate destroy`` and ``pixelate package``.

    pixelate package --python 3.12 --arch arm64          # build/lambda/pixelate-py312-arm64.zip, checked
    pixelate deploy --target aws --region eu-west-1 --param NotificationEmail=me@example.com
    pixelate deploy                                       # to the running local stack (`pixelate up`)
    pixelate destroy --target aws --region eu-west-1

The commands only parse arguments and print: the work is done by :mod:`pixelate.local.target` (either
target), :mod:`pixelate.deploy.stack` (AWS) and :mod:`pixelate.deploy.package`, which ``deploy.ipynb`` calls too.
"""
from __future__ import annotations

import argparse
import sys


def parse_param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _stack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", choices=("local", "aws"), default="local",
                        help="the local stack of `pixelate up` (default) or AWS")
    parser.add_argument("--stack-name", default="pixelator")
    parser.add_argument("--region", default=None, help="AWS region (local: us-east-1 unless given)")
    parser.add_argument("--profile", default=None, help="AWS profile (aws target)")
    parser.add_argument("--endpoint-url", default=None,
                        help="moto's URL (local target; default: EndpointUrl of .pixelate/stack.json)")
    parser.add_argument("--folder", default=".", help="where .pixelate/stack.json is read and written")


def register(subparsers, name: str) -> None:
    """Add the ``name`` command (one of deploy, destroy, package) to the ``pixelate`` parser."""
    if name == "deploy":
        parser = subparsers.add_parser(name, help="deploy cloudformation.yaml to AWS or the local stack")
        _stack_arguments(parser)
        parser.add_argument("--parameter", "--param", action="append", type=parse_param, default=[], metavar="NAME=VALUE",
                            help="a template parameter (repeatable)")
        parser.set_defaults(func=run_deploy)
    elif name == "destroy":
        parser = subparsers.add_parser(name, help="delete a deployed stack, its buckets' objects included")
        _stack_arguments(parser)
        parser.set_defaults(func=run_destroy)
    elif name == "package":
        parser = subparsers.add_parser(name, help="build the Lambda deployment zip")
        parser.add_argument("--python", dest="python_version", default="3.12", choices=("3.11", "3.12", "3.13", "3.14"))
        parser.add_argument("--arch", default="arm64", choices=("arm64", "x86_64"))
        parser.add_argument("--out", default="build/lambda", help="output folder")
        parser.set_defaults(func=run_package)
    else:
        raise ValueError(f"pixelate.cli.deploy has no command {name!r}")


def _local_endpoint(args) -> str:
    from pixelate.deploy.stackfile import read_stack_file
    from pixelate.local.moto_server import moto_answers

    url = args.endpoint_url or (read_stack_file(args.folder) or {}).get("EndpointUrl")
    if not url or not moto_answers(url):
        raise SystemExit("no local stack answers: start one with `pixelate up` (or pass --endpoint-url)")
    return url


def _refused(command: str, error: Exception) -> int:
    """A deploy or destroy that AWS refused: its one-paragraph account on stderr, no traceback; exit status 1."""
    print(f"pixelate {command}: {error}", file=sys.stderr)
    return 1


def run_deploy(args) -> int:
    from pixelate.deploy.stack import DeployError
    from pixelate.deploy.stackfile import stack_file_path
    from pixelate.local import target
    from pixelate.local.emulate import Emulated, report_table

    endpoint = _local_endpoint(args) if args.target == "local" else None
    try:
        result = target.deploy(args.target, args.stack_name, args.region, args.profile, dict(args.parameter),
                               endpoint, args.folder)
    except DeployError as error:
        return _refused("deploy", error)
    if "Package" in result:
        print(result["Package"])
    if "Emulation" in result:
        print(report_table([Emulated(**e) for e in result["Emulation"]]))
    print(f"\nstack {args.stack_name}: {result['StackAction']}; outputs written to "
          f"{stack_file_path(args.folder)}")
    for key, value in result.items():
        if isinstance(value, str) and key not in ("StackAction", "Package"):
            print(f"  {key:<22} {value}")
    return 0


def run_destroy(args) -> int:
    from pixelate.deploy.stack import DeployError
    from pixelate.local import target

    endpoint = _local_endpoint(args) if args.target == "local" else None
    try:
        target.destroy(args.target, args.stack_name, args.region, args.profile, endpoint)
    except DeployError as error:
        return _refused("destroy", error)
    print(f"stack {args.stack_name} deleted")
    return 0


def run_package(args) -> int:
    from pixelate.deploy.package import PackageSpec, build_package

    report = build_package(PackageSpec(args.python_version, args.arch), args.out)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":  # pragma: no cover
    from pixelate.cli import main

    sys.exit(main(["deploy", *sys.argv[1:]]))
