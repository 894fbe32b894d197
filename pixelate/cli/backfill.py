"""``pixelate backfill``: pixelate the photos already in the originals bucket.

    pixelate backfill                                  # every original, with its own metadata and the defaults
    pixelate backfill --prefix holiday/ --pixel-size 24 --wait
    pixelate backfill --target aws --method nearest --faces
    pixelate backfill --target aws --manifest s3://inventory-bucket/…/manifest.json

Run where ``.pixelate/stack.json`` is. Without option flags each object's own metadata and the function's
defaults apply; with them, they override the metadata for this backfill. Locally (moto runs no Distributed
Map) the command lists the bucket and sends the backfill messages itself (:mod:`pixelate.local.backfill`); on
AWS it starts the stack's backfill state machine and follows its map run (:mod:`pixelate.deploy.backfill`).
``--wait`` then follows the status records until every listed object has a terminal one for these options,
and prints the done and failed counts by reason. Exit status: 0 when all finished done, 2 when some failed or
the flags do not fit the stack (nothing sent), 1 on an internal error, a missing stack, or when ``--timeout``
passed first.
"""
from __future__ import annotations

import argparse
import sys
import time

from pixelate.image.errors import PixelateError
from pixelate.image.options import parse_face_blocks, parse_method, parse_pixel_size


DESCRIPTION = (
    "Pixelate the photos already in the originals bucket of the stack that .pixelate/stack.json describes. "
    "Without option flags each object's own metadata and the defaults apply; with them, they override it. "
    "Locally the command sends the backfill messages itself; on AWS it starts the backfill state machine. "
    "Exit status with --wait: 0 when all finished done, 2 when some failed, 1 on an internal error."
)


def _option(parse):
    """An argparse ``type`` from an options parser: its value as the metadata text a message carries, its
    ``invalid-option`` message as argparse's usage error."""
    def checked(text: str) -> str:
        try:
            return str(parse(text))
        except PixelateError as error:
            raise argparse.ArgumentTypeError(error.message) from None
    return checked


def register(subparsers, name: str) -> None:
    parser = subparsers.add_parser(name, help="pixelate the photos already in the originals bucket", description=DESCRIPTION)
    parser.add_argument("--prefix", default="", help="only originals whose key starts with this")
    parser.add_argument("--pixel-size", type=_option(parse_pixel_size), default=None, help="override the pixel size (2..512)")
    parser.add_argument("--method", type=_option(parse_method), default=None, help="override the method (average, nearest)")
    parser.add_argument("--faces", action="store_true",
                        help="pixelate only the faces found (with any regions in each object's metadata)")
    parser.add_argument("--face-blocks", type=_option(parse_face_blocks), default=None, metavar="N",
                        help="override the most blocks a face may span (0..64; 0 keeps the pixel size)")
    parser.add_argument("--manifest", default=None, metavar="S3_URL",
                        help="aws target: read the objects from this S3 Inventory manifest.json instead of listing")
    parser.add_argument("--wait", action="store_true", help="follow until every object has its status, then report")
    parser.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS", help="stop waiting after this long")
    parser.add_argument("--target", choices=("local", "aws"), default=None,
                        help="the stack .pixelate/stack.json describes (default), which must be this one")
    parser.add_argument("--folder", default=".", help="where .pixelate/stack.json is")
    parser.set_defaults(func=run)


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"--timeout takes a number of seconds above 0, not {text!r}")
    return seconds


class StackProblem(Exception):
    """The stack file or the stack is not what the command needs (exit 1)."""


class UsageProblem(Exception):
    """Something about the stack or the arguments that stops the backfill before it starts."""


def run(args) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from pixelate.deploy.backfill import BackfillError
    from pixelate.local.backfill import SendError

    try:
        return backfill(args)
    except UsageProblem as error:  # flags that do not go together: nothing was sent
        print(f"pixelate backfill: {error}", file=sys.stderr)
        return 2
    except (StackProblem, BackfillError, SendError, ClientError, BotoCoreError) as error:
        print(f"pixelate backfill: {error}", file=sys.stderr)
        return 1


def _stack(args) -> tuple[dict, str]:
    from pixelate.deploy.stackfile import is_local, is_running, read_stack_file, stack_file_path

    outputs = read_stack_file(args.folder)
    if not outputs or not outputs.get("OriginalsBucket"):
        raise StackProblem(f"no stack described at {stack_file_path(args.folder)}: start `pixelate up` or deploy first")
    described = "local" if is_local(outputs) else "aws"
    target = args.target or described
    if target != described:
        raise UsageProblem(f"{stack_file_path(args.folder)} describes the {described} stack, not the {target} one")
    if target == "local" and not is_running(outputs):
        raise StackProblem("the local stack does not answer: start it with `pixelate up`")
    if args.manifest and target == "local":
        raise UsageProblem("--manifest reads an S3 Inventory report on AWS; locally the bucket is listed")
    if args.manifest and (args.wait or args.prefix):
        raise UsageProblem("--manifest takes the objects the inventory lists: no --prefix, and no --wait (which lists)")
    return outputs, target


def backfill(args) -> int:
    from botocore.config import Config
    from tqdm import tqdm

    from pixelate.deploy import backfill as plan
    from pixelate.deploy.client import stack_client

    outputs, target = _stack(args)
    chosen = plan.overrides(args.pixel_size, args.method, args.faces, args.face_blocks)
    bucket = outputs["OriginalsBucket"]
    readers = plan.READERS if target == "local" else plan.AWS_READERS
    s3 = stack_client(outputs, "s3", Config(max_pool_connections=2 * readers))
    started = time.monotonic()

    keys, listing, version_key = None, None, ""
    if target == "local" or args.wait:
        keys = plan.list_keys(s3, bucket, args.prefix)
        print(f"{len(keys)} originals under s3://{bucket}/{args.prefix}; options {chosen or 'of each object'}")
    if args.wait:
        function = outputs.get("PixelateFunctionArn")
        if not function:
            raise StackProblem("the stack file names no PixelateFunctionArn: redeploy (or restart `pixelate up`)")
        defaults, version_key = plan.processing_settings(stack_client(outputs, "lambda"), function)
        listing = plan.expected_statuses(s3, bucket, keys, chosen, defaults, readers)
        if listing.gone:
            print(f"{len(listing.gone)} listed objects expect no status (gone since listed), e.g. {listing.gone[0]!r}")

    if target == "local":
        from pixelate.local.backfill import send_backfill

        with tqdm(total=len(keys), desc="send", unit="obj", file=sys.stderr) as bar:
            sent = send_backfill(stack_client(outputs, "sqs"), outputs["JobQueueUrl"], bucket, keys, chosen, bar.update)
        print(f"sent {sent} backfill messages to the job queue")
    else:
        code = _run_on_aws(outputs, args, chosen, plan)
        if code:
            return code

    if not args.wait:
        return 0
    return _wait(s3, outputs, listing, args, plan, started, readers, version_key)


def _run_on_aws(outputs: dict, args, chosen: dict, plan) -> int:
    from tqdm import tqdm

    from pixelate.deploy.client import stack_client

    state_machine = outputs.get("BackfillStateMachineArn")
    if not state_machine:
        raise StackProblem("the stack file names no BackfillStateMachineArn: redeploy the stack with this version")
    sfn = stack_client(outputs, "stepfunctions")
    execution = plan.start_backfill(sfn, state_machine, plan.execution_input(args.prefix, chosen, args.manifest))
    print(f"started {execution}")
    with tqdm(desc="send", unit="obj", file=sys.stderr) as bar:
        def show(progress) -> None:
            if progress.total:
                bar.total = progress.total
            bar.n = progress.handled
            bar.set_postfix(failed=progress.failed, refresh=False)
            bar.refresh()

        final = plan.follow_execution(sfn, execution, show, timeout=args.timeout)
    print(f"execution {final.status}: {final.succeeded} objects sent, {final.failed} not sent"
          + (f"; map run report at {final.report}" if final.report else ""))
    if final.status != "SUCCEEDED":
        print(f"pixelate backfill: the backfill did not finish: {final.error or final.status}: {final.cause or ''}",
              file=sys.stderr)
        return 1
    if final.failed:
        print(f"{final.failed} objects were not sent (within the tolerated failure threshold): run the same backfill "
              "again to send them; finished objects are not redone", file=sys.stderr)
    return 0


def _wait(s3, outputs: dict, listing, args, plan, started: float, readers: int, version_key: str) -> int:
    from tqdm import tqdm

    watch = plan.StatusWatch(s3, outputs["ProcessedBucket"], listing.expected, readers, version_key)
    with tqdm(total=len(listing.expected), desc="status", unit="obj", file=sys.stderr) as bar:
        summary = plan.wait_for_statuses(watch, bar.update, timeout=args.timeout)
    elapsed = time.monotonic() - started
    finished = summary.done + summary.failed_count
    reasons = ", ".join(f"{reason} {count}" for reason, count in summary.failed.items())
    print(f"done {summary.done}, failed {summary.failed_count}" + (f" ({reasons})" if reasons else ""))
    print(f"{finished} objects finished in {elapsed:.1f} s ({finished / elapsed if elapsed else 0:.1f} objects/s)")
    if summary.pending:
        print(f"pixelate backfill: {len(summary.pending)} objects have no status for these options yet, "
              f"e.g. {summary.pending[0]!r}", file=sys.stderr)
    return summary.exit_code
