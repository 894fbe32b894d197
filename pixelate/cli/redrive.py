"""``pixelate redrive``: send the dead-letter queue's messages back to the job queue, once the cause is fixed.

    pixelate redrive                      # the stack of .pixelate/stack.json (local or AWS)
    pixelate redrive --limit 10           # local stack: at most 10
"""
from __future__ import annotations

import sys


def register(subparsers, name: str) -> None:
    parser = subparsers.add_parser(
        name,
        help="send the dead-letter queue's messages back to the job queue",
        description="Move the messages of the stack's dead-letter queue back to its job queue: SQS's own move task on "
        "AWS, a receive/send/delete loop on the local stack (moto has no move task). Prints how many.",
    )
    parser.add_argument("--folder", default=".", help="where .pixelate/stack.json is read (default: here)")
    parser.add_argument("--limit", type=int, default=None, help="local stack: move at most this many")
    parser.set_defaults(func=run)


def sqs_client(outputs: dict):
    import boto3

    from pixelate.deploy.stackfile import LOCAL_CREDENTIALS, is_local

    if is_local(outputs):
        return boto3.client("sqs", endpoint_url=outputs["EndpointUrl"], region_name=outputs.get("Region") or "us-east-1",
                            **LOCAL_CREDENTIALS)
    return boto3.client("sqs", region_name=outputs.get("Region"))


def run(args) -> int:
    from pixelate.deploy import redrive
    from pixelate.deploy.stackfile import is_local, read_stack_file

    outputs = read_stack_file(args.folder)
    if not outputs or not outputs.get("DeadLetterQueueUrl") or not outputs.get("JobQueueUrl"):
        print(f"no stack file with DeadLetterQueueUrl and JobQueueUrl in {args.folder}/.pixelate/: deploy or `pixelate up` first",
              file=sys.stderr)
        return 1
    sqs = sqs_client(outputs)
    if is_local(outputs):
        result = redrive.move_messages(sqs, outputs["DeadLetterQueueUrl"], outputs["JobQueueUrl"], args.limit)
        print(f"moved {result.moved} message{'s' if result.moved != 1 else ''} from the dead-letter queue back to the job queue")
    else:
        result = redrive.start_move_task(sqs, outputs["DeadLetterQueueUrl"], outputs["JobQueueUrl"])
        print(f"SQS is moving about {result.moved} messages back to the job queue (task {result.task_handle})")
    return 0
