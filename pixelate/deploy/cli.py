"""``pixelate deploy``, ``pixelate destroy`` and ``pixelate package``.

    pixelate package --python 3.12 --arch arm64          # build/lambda/pixelate-py312-arm64.zip, checked
    pixelate deploy --target aws --region eu-west-1 --param NotificationEmail=me@example.com
    pixelate deploy                                       # to the running local stack (`pixelate up`)
    pixelate destroy --target aws --region eu-west-1

The commands only parse arguments and print: the work is done by :mod:`pixelate.deploy.stack` and
:mod:`pixelate.deploy.package`, which the notebook ``deploy.ipynb`` calls too.
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
        parser.add_argument("--param", action="append", type=parse_param, default=[], metavar="NAME=VALUE",
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
        raise ValueError(f"pixelate.deploy.cli has no command {name!r}")


def _local_endpoint(args) -> str:
    from pixelate.deploy.stack import answers, read_stack_file

    url = args.endpoint_url or (read_stack_file(args.folder) or {}).get("EndpointUrl")
    if not url or not answers(url.rstrip("/") + "/moto-api/"):
        raise SystemExit("no local stack answers: start one with `pixelate up` (or pass --endpoint-url)")
    return url


def run_deploy(args) -> int:
    from pixelate.deploy import stack
    from pixelate.deploy.emulate import Emulated, report_table

    parameters = dict(args.param)
    if args.target == "aws":
        result = stack.deploy_aws(args.stack_name, args.region, args.profile, parameters)
        print(result.pop("Package"))
    else:
        known = stack.read_stack_file(args.folder) or {}
        result = stack.deploy_local(_local_endpoint(args), args.region or "us-east-1", args.stack_name, parameters)
        # the local edge's URLs, written by `pixelate up`, stay: this deploy does not know them
        result = {**{k: known[k] for k in stack.EDGE_OUTPUTS if k in known}, **result}
        print(report_table([Emulated(**e) for e in result["Emulation"]]))
    path = stack.write_stack_file(result, args.folder)
    print(f"\nstack {args.stack_name}: {result['StackAction']}; outputs written to {path}")
    for key, value in result.items():
        if isinstance(value, str) and key != "StackAction":
            print(f"  {key:<22} {value}")
    return 0


def run_destroy(args) -> int:
    from pixelate.deploy import stack

    if args.target == "aws":
        stack.destroy_aws(args.stack_name, args.region, args.profile)
    else:
        stack.destroy_local(_local_endpoint(args), args.region or "us-east-1", args.stack_name)
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
