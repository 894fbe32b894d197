"""``pixelate up``: the whole service on this machine until Ctrl-C (or SIGTERM).

    pixelate up [--port 8000] [--workers N] [--inject-faults RATE] [--parameter Key=Value ...]
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from pixelate.cli.deploy import parse_param

DEFAULT_PORT = 8000


def register(subparsers, name: str) -> None:
    parser = subparsers.add_parser(
        name,
        help="run the whole service on this machine (moto, runner, edge)",
        description="Start moto's server, deploy cloudformation.yaml to it, run the Lambda-on-SQS runner and the "
        "local edge (page, /api, processed images), write .pixelate/stack.json, and serve until Ctrl-C.",
    )
    add_stack_arguments(parser)
    parser.set_defaults(func=run)


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``up`` and ``demo`` share."""
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port of the local edge: page, /api, images (0: any free port)")
    parser.add_argument("--moto-port", type=int, default=0, help="port of moto's server (default: any free port)")
    parser.add_argument("--workers", type=positive, default=2,
                        help="worker processes polling the job queue (default 2; at most the mapping's MaximumConcurrency)")
    parser.add_argument("--inject-faults", type=fault_rate, default=0.0, metavar="RATE",
                        help="fail this fraction (0..1) of the handler's S3 requests with a transient 500/503; the handler's "
                             "client retries first, what still fails is redelivered by SQS (default 0)")
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE", type=parse_param,
                        help="a template parameter, e.g. --parameter QueueVisibilityTimeout=30 (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="no line per finished job")


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("needs at least 1")
    return value


def fault_rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("RATE is a fraction from 0 to 1")
    return value


def stack_from_args(args, view):
    from pixelate.local.stack import LocalStack

    return LocalStack(
        port=args.port,
        workers=args.workers,
        fault_rate=args.inject_faults,
        folder=Path.cwd(),
        moto_port=args.moto_port,
        parameters=dict(args.parameter),
        on_report=view,
    )


def banner(stack) -> str:
    """What a person needs to use the running stack: the page, the CLI upload, where results appear."""
    outputs, queue = stack.outputs, stack.settings.queue
    originals, endpoint = outputs["OriginalsBucket"], outputs["EndpointUrl"]
    edge = outputs["DistributionUrl"]
    lines = [
        "Pixelator is running on this machine.",
        f"  upload page      {stack.page_url}",
        f"  api              {outputs['ApiUrl']}",
        f"  AWS (moto)       {endpoint}   region {outputs['Region']}",
        f"  originals        s3://{originals}",
        f"  processed        s3://{outputs['ProcessedBucket']}  (served at {edge}/pixelated/... and {edge}/status/...)",
        f"  stack file       {stack.stack_file}",
        f"  runner           {stack.workers} workers{capped(stack)} · {stack.settings.function.handler} · batch {queue.batch_size}"
        f" · visibility {queue.visibility_timeout_s} s · dead-letter after {queue.max_receive_count} receives"
        + (f" · faults {stack.fault_rate:g}" if stack.fault_rate else ""),
        "Upload with the AWS CLI (any credentials work):",
        f"  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --endpoint-url {endpoint} --region {outputs['Region']} \\",
        f"      s3 cp photo.jpg s3://{originals}/photos/photo.jpg --metadata pixel-size=24",
        f"  then open {edge}/pixelated/photos/photo.jpg  (its record: {edge}/status/photos/photo.jpg.json)",
    ]
    if stack.emulation:
        lines.append("How each resource of the template exists here (the deploy report):")
        lines += emulation_summary(stack.emulation)
    lines.append("  the event source mapping is disabled in moto and run by the local runner instead")
    lines.append("Ctrl-C stops everything.")
    return "\n".join(lines)


def capped(stack) -> str:
    if stack.workers < stack.requested_workers:
        return f" (of {stack.requested_workers} asked: the mapping's MaximumConcurrency is {stack.settings.queue.max_concurrency})"
    return ""


def emulation_summary(emulation) -> list[str]:
    """One line per status of the deploy's emulation report, naming the resources (each once)."""
    by_status: dict[str, list[str]] = {}
    for item in emulation if isinstance(emulation, (list, tuple)) else []:
        entry = item if isinstance(item, dict) else getattr(item, "__dict__", {})
        names = by_status.setdefault(str(entry.get("status", "?")), [])
        if entry.get("logical_id") not in names:
            names.append(str(entry.get("logical_id")))
    width = max((len(status) for status in by_status), default=0)
    return [f"  {status:<{width}}  {', '.join(names)}" for status, names in by_status.items()]


def serve_until_signalled(stop: threading.Event, stack=None) -> None:
    """Block until SIGINT or SIGTERM; raise if a part of the stack dies meanwhile."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(0.5):
        dead = stack.dead_part() if stack is not None else None
        if dead:
            raise RuntimeError(f"{dead} stopped unexpectedly; stopping the rest")


def interrupt_on_sigterm() -> None:
    """During start-up a SIGTERM stops as Ctrl-C does: LocalStack.start cleans up on any exception."""
    def interrupt(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def run(args) -> int:
    from pixelate.local.progress import ProgressView
    from pixelate.local.stack import FolderInUse, stack_in_use

    busy = stack_in_use(Path.cwd())
    if busy:  # before anything starts (LocalStack.start checks again, for a stack started meanwhile)
        print(f"pixelate up: {busy}.", file=sys.stderr, flush=True)
        return 1
    interrupt_on_sigterm()
    view = ProgressView(quiet=args.quiet)
    stack = stack_from_args(args, view)
    code = 0
    try:
        print(f"Starting the local stack ({args.workers} workers) ...", flush=True)
        stack.start()
        view.attach(stack)
        print(banner(stack), flush=True)
        serve_until_signalled(threading.Event(), stack)
    except KeyboardInterrupt:
        pass
    except FolderInUse as exc:
        print(f"pixelate up: {exc}.", file=sys.stderr, flush=True)
        code = 1
    except Exception as exc:
        print(f"pixelate up: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        code = 1
    finally:
        view.close()
        print("Stopping ...", flush=True)
        removed = stack.stop()
        print("Stopped; removed the stack file." if removed else "Stopped.", flush=True)
    return code
