"""`pixelate redrive`: the dead-letter queue's messages go back to the job queue (issue 18, item 8), on moto."""
from __future__ import annotations

import json

import boto3

from pixelate.cli import main
from pixelate.deploy import redrive
from pixelate.deploy.stackfile import write_stack_file


def make_queues(unique_name):
    sqs = boto3.client("sqs")
    dead = sqs.create_queue(QueueName=unique_name("dlq"))["QueueUrl"]
    jobs = sqs.create_queue(QueueName=unique_name("jobs"))["QueueUrl"]
    return sqs, dead, jobs


def drain(sqs, url):
    found = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_pixelate_redrive_moves_every_message_back_with_a_count(moto_endpoint, unique_name, tmp_path, capsys):
    sqs, dead, jobs = make_queues(unique_name)
    bodies = [json.dumps({"Records": [{"n": i}]}) for i in range(23)]
    for body in bodies:
        sqs.send_message(QueueUrl=dead, MessageBody=body, MessageAttributes={"origin": {"DataType": "String", "StringValue": "s3"}})
    write_stack_file({"EndpointUrl": moto_endpoint, "Region": "us-east-1", "DeadLetterQueueUrl": dead, "JobQueueUrl": jobs,
                      "OriginalsBucket": "unused"}, tmp_path)
    assert main(["redrive", "--folder", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == "moved 23 messages from the dead-letter queue back to the job queue"
    moved = drain(sqs, jobs)
    assert sorted(m["Body"] for m in moved) == sorted(bodies)
    assert all(m["MessageAttributes"]["origin"]["StringValue"] == "s3" for m in moved)
    assert redrive.waiting(sqs, dead) == 0


def test_a_limit_moves_at_most_that_many(moto_endpoint, unique_name):
    sqs, dead, jobs = make_queues(unique_name)
    for i in range(5):
        sqs.send_message(QueueUrl=dead, MessageBody=str(i))
    assert redrive.move_messages(sqs, dead, jobs, limit=3).moved == 3
    assert len(drain(sqs, jobs)) == 3
    assert redrive.move_messages(sqs, dead, jobs).moved == 2


def test_an_empty_dead_letter_queue_moves_nothing(moto_endpoint, unique_name, tmp_path, capsys):
    sqs, dead, jobs = make_queues(unique_name)
    write_stack_file({"EndpointUrl": moto_endpoint, "DeadLetterQueueUrl": dead, "JobQueueUrl": jobs}, tmp_path)
    assert main(["redrive", "--folder", str(tmp_path)]) == 0
    assert "moved 0 messages" in capsys.readouterr().out


def test_without_a_stack_file_it_says_what_to_do(tmp_path, capsys):
    assert main(["redrive", "--folder", str(tmp_path)]) == 1
    assert "pixelate up" in capsys.readouterr().err
