"""`pixelate backfill` as a process, against moto's server: what it sends locally, what it starts on the AWS
target (moto standing in for AWS through AWS_ENDPOINT_URL), and the refusals that exit 1 before anything starts.
The whole path through `pixelate up` (workers, --wait, a killed run) is tests/local/test_backfill.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from pixelate.deploy.stackfile import write_stack_file
from pixelate.service.events import Job, jobs_from_message


def run(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pixelate.cli", "backfill", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=env)


@pytest.fixture
def stack(moto_endpoint, unique_name):
    """Originals with 23 objects under p/ and one elsewhere, a processed bucket and a job queue on moto."""
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    outputs = {"OriginalsBucket": unique_name("orig"), "ProcessedBucket": unique_name("proc"), "Region": "us-east-1",
               "JobQueueUrl": sqs.create_queue(QueueName=unique_name("jobs"))["QueueUrl"]}
    for bucket in (outputs["OriginalsBucket"], outputs["ProcessedBucket"]):
        s3.create_bucket(Bucket=bucket)
    for i in range(23):
        s3.put_object(Bucket=outputs["OriginalsBucket"], Key=f"p/{i:02d} é+.png", Body=b"x")
    s3.put_object(Bucket=outputs["OriginalsBucket"], Key="q/other.png", Body=b"x")
    return outputs


def queued(queue_url: str) -> list[str]:
    sqs, bodies = boto3.client("sqs"), []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        bodies += [m["Body"] for m in messages]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                              for i, m in enumerate(messages)])
    return bodies


def test_locally_it_sends_one_message_per_listed_original(stack, moto_endpoint, tmp_path):
    write_stack_file({**stack, "EndpointUrl": moto_endpoint}, tmp_path)
    proc = run(tmp_path, "--prefix", "p/", "--method", "NEAREST", "--faces")
    assert proc.returncode == 0, proc.stderr
    assert "23 originals under" in proc.stdout and "sent 23 backfill messages" in proc.stdout
    assert "23/23" in proc.stderr  # the progress bar
    jobs = sorted((job for body in queued(stack["JobQueueUrl"]) for job in jobs_from_message(body)), key=lambda j: j.key)
    assert jobs == [Job(stack["OriginalsBucket"], f"p/{i:02d} é+.png", overrides={"method": "nearest", "faces": "true"})
                    for i in range(23)]


def test_refusals_before_anything_is_sent(stack, moto_endpoint, tmp_path):
    """Flags that do not fit the stack are usage errors (2), as argparse answers bad flags; a stack that lacks
    what the command needs is 1."""
    missing = run(tmp_path)
    assert missing.returncode == 1 and "no stack described" in missing.stderr
    write_stack_file({**stack, "EndpointUrl": moto_endpoint}, tmp_path)
    for args, says, code in ((["--manifest", "s3://inv/m.json"], "--manifest", 2),
                             (["--target", "aws"], "describes the local stack", 2),
                             (["--timeout", "-5", "--wait"], "--timeout takes a number of seconds above 0", 2),
                             (["--wait"], "PixelateFunctionArn", 1)):
        proc = run(tmp_path, *args)
        assert proc.returncode == code and says in proc.stderr, (args, proc.stderr)
    assert queued(stack["JobQueueUrl"]) == []
    proc = run(tmp_path, "--pixel-size", "-3")
    assert proc.returncode == 2 and "pixel size" in proc.stderr


def test_on_aws_it_starts_the_state_machine_with_the_documented_input(stack, moto_endpoint, tmp_path, unique_name):
    sfn = boto3.client("stepfunctions")
    definition = json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 1, "End": True}}})
    arn = sfn.create_state_machine(name=unique_name("backfill"), definition=definition,
                                   roleArn="arn:aws:iam::123456789012:role/backfill")["stateMachineArn"]
    env = dict(os.environ)  # the moto fixture's: AWS_ENDPOINT_URL and fake credentials stand in for an account
    write_stack_file(stack, tmp_path)  # no EndpointUrl: a stack on AWS, and no state machine named yet
    proc = run(tmp_path, "--target", "aws", env=env)
    assert proc.returncode == 1 and "BackfillStateMachineArn" in proc.stderr
    write_stack_file({**stack, "BackfillStateMachineArn": arn}, tmp_path)
    # moto never runs the execution: it stays RUNNING, and the command gives up after --timeout
    proc = run(tmp_path, "--prefix", "p/", "--pixel-size", "24", "--timeout", "1", env=env)
    assert proc.returncode == 1 and "did not finish" in proc.stderr, proc.stderr
    [execution] = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert f"started {execution['executionArn']}" in proc.stdout
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    assert json.loads(described["input"]) == {"options": {"pixel-size": "24"}, "prefix": "p/"}
    assert queued(stack["JobQueueUrl"]) == []  # on AWS the state machine sends, never the command
