"""`pixelate up` driven from outside, as a user would: a subprocess in a fresh folder on free ports, uploads with
the AWS CLI and boto3, the page, the api and the images through the local edge, a worker killed mid-batch,
a second stack beside the first, and SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.support.paths import CORPUS, SAMPLES
from tests.support.up_process import UpProcess, user_env

pytestmark = [pytest.mark.stack, pytest.mark.slow]

AWS_CLI = Path(sys.executable).with_name("aws")
STATUS_TIMEOUT_S = 90

#: Hostile uploads and the reason each must fail with.
HOSTILE = {
    "broken.png": "corrupt",
    "decompression_bomb.gif": "too-large",
    "hopper.psd": "unsupported-format",
}


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    process = UpProcess(tmp_path_factory.mktemp("user-folder"), "--workers", "2")
    yield process
    process.stop()


def in_flight(sqs, up: UpProcess) -> int:
    """Messages received by a worker and neither deleted nor back on the queue."""
    attributes = sqs.get_queue_attributes(QueueUrl=up.outputs["JobQueueUrl"],
                                          AttributeNames=["ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesNotVisible"])


def wait_for_statuses(up: UpProcess, keys: list[str], timeout: float = STATUS_TIMEOUT_S) -> dict[str, dict]:
    s3 = up.client("s3")
    bucket = up.outputs["ProcessedBucket"]
    records: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while len(records) < len(keys) and time.monotonic() < deadline:
        for key in keys:
            if key not in records:
                try:
                    records[key] = json.loads(s3.get_object(Bucket=bucket, Key=f"status/{key}.json")["Body"].read())
                except s3.exceptions.NoSuchKey:
                    pass
        time.sleep(0.2)
    missing = sorted(set(keys) - set(records))
    assert not missing, f"no status for {missing}:\n{up.log()[-3000:]}"
    return records


def status_keys_under(up: UpProcess, prefix: str) -> list[str]:
    s3 = up.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=up.outputs["ProcessedBucket"], Prefix=f"status/{prefix}")
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def edge_get(url: str, method: str = "GET", headers: dict | None = None, data: bytes | None = None):
    """(status, headers, body) of a request to the edge; HTTP errors are answers too."""
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def edge_url(up: UpProcess, key_path: str) -> str:
    return up.outputs["DistributionUrl"] + "/" + urllib.parse.quote(key_path)


# ---- the stack file and the page --------------------------------------------------------------------------


def test_the_stack_file_names_every_output_and_the_page_is_served(up):
    for name in ("EndpointUrl", "Region", "OriginalsBucket", "ProcessedBucket", "JobQueueUrl", "DeadLetterQueueUrl",
                 "NotificationTopicArn", "DistributionUrl", "ApiUrl"):
        assert up.outputs.get(name), name
    assert up.outputs["ApiUrl"] == up.outputs["DistributionUrl"] + "/api"
    assert up.outputs["EndpointUrl"].startswith("http://127.0.0.1:")
    status, headers, body = edge_get(up.outputs["DistributionUrl"] + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html") and b"<html" in body.lower()
    deadline = time.monotonic() + 10
    while "Ctrl-C stops everything" not in up.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = up.log()
    assert up.outputs["DistributionUrl"] + "/" in log and "s3 cp" in log  # the page URL and a CLI example


def test_a_second_up_in_the_same_folder_is_refused_and_the_first_keeps_its_file(up):
    before = up.stack_file.read_text()
    second = subprocess.run([sys.executable, "-m", "pixelate.cli", "up", "--port", "0"], cwd=up.cwd, env=user_env(),
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert second.returncode == 1, second.stdout + second.stderr
    supervisor = up.stack()["Local"]["Processes"]["Supervisor"]
    assert f"pid {supervisor}" in second.stderr and up.outputs["DistributionUrl"] in second.stderr, second.stderr
    assert "Starting" not in second.stdout and "removed the stack file" not in second.stdout
    assert up.stack_file.read_text() == before
    assert edge_get(up.outputs["DistributionUrl"] + "/")[0] == 200


# ---- uploads from the outside -----------------------------------------------------------------------------


def test_an_aws_cli_upload_with_metadata_is_pixelated_and_served(up):
    prefix = f"cli-{uuid.uuid4().hex[:6]}/"
    key = prefix + "my photos/rocket launch.jpg"
    env = {**user_env(), "AWS_ACCESS_KEY_ID": "any", "AWS_SECRET_ACCESS_KEY": "thing"}
    subprocess.run(
        [str(AWS_CLI), "--endpoint-url", up.outputs["EndpointUrl"], "--region", up.outputs["Region"], "s3", "cp",
         str(SAMPLES / "rocket.jpg"), f"s3://{up.outputs['OriginalsBucket']}/{key}", "--metadata", "pixel-size=24"],
        check=True, env=env, capture_output=True, timeout=60,
    )
    record = wait_for_statuses(up, [key])[key]
    assert record["state"] == "done" and record["options"]["pixel_size"] == 24
    status, headers, body = edge_get(edge_url(up, "pixelated/" + key))
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and body[:2] == b"\xff\xd8"
    assert status_keys_under(up, prefix) == [f"status/{key}.json"]


def test_awkward_keys_and_hostile_files_each_get_exactly_one_status(up):
    prefix = f"keys-{uuid.uuid4().hex[:6]}/"
    s3 = up.client("s3")
    bucket = up.outputs["OriginalsBucket"]
    good = {
        prefix + "with spaces in it.png": (SAMPLES / "chelsea.png").read_bytes(),
        prefix + "unicodé/фото 写真.jpg": (CORPUS / "hopper.jpg").read_bytes(),
        prefix + "a+b=c&d.gif": (CORPUS / "hopper.gif").read_bytes(),
        prefix + "percent%20literal.webp": (CORPUS / "hopper.webp").read_bytes(),
        prefix + "deep/1/2/3/4/5/6/7/8/leaf.png": (CORPUS / "hopper.png").read_bytes(),
    }
    hostile = {prefix + "hostile/" + name: (CORPUS / name).read_bytes() for name in HOSTILE}
    hostile[prefix + "hostile/random.bin"] = os.urandom(4096)
    expected_reasons = {prefix + "hostile/" + name: reason for name, reason in HOSTILE.items()}
    expected_reasons[prefix + "hostile/random.bin"] = "unsupported-format"
    for key, data in {**good, **hostile}.items():
        metadata = {"pixel-size": "8"} if key.endswith("leaf.png") else {}
        s3.put_object(Bucket=bucket, Key=key, Body=data, Metadata=metadata)

    records = wait_for_statuses(up, list(good) + list(hostile))
    for key in good:
        assert records[key]["state"] == "done", records[key]
        assert records[key]["source"]["key"] == key
    assert records[prefix + "deep/1/2/3/4/5/6/7/8/leaf.png"]["options"]["pixel_size"] == 8
    for key, reason in expected_reasons.items():
        assert (records[key]["state"], records[key]["reason"]) == ("failed", reason), records[key]
    time.sleep(2)  # a duplicate would have arrived by now
    assert sorted(status_keys_under(up, prefix)) == sorted(f"status/{key}.json" for key in records)


# ---- the edge as CloudFront and API Gateway ---------------------------------------------------------------


def test_the_edge_serves_processed_objects_as_cloudfront_would(up):
    key = f"edge-{uuid.uuid4().hex[:6]}/hopper.png"
    up.client("s3").put_object(Bucket=up.outputs["OriginalsBucket"], Key=key, Body=(CORPUS / "hopper.png").read_bytes())
    wait_for_statuses(up, [key])
    url = edge_url(up, "pixelated/" + key)
    status, headers, body = edge_get(url)
    assert status == 200 and headers["Content-Type"] == "image/png" and body[:4] == b"\x89PNG"
    assert "max-age" in headers["Cache-Control"] and headers["ETag"]
    assert int(headers["Content-Length"]) == len(body)
    status, head_headers, head_body = edge_get(url, method="HEAD")
    assert (status, head_body, head_headers["ETag"]) == (200, b"", headers["ETag"])
    assert edge_get(url, headers={"If-None-Match": headers["ETag"]})[0] == 304
    # as a browser or a CDN sends it: weak, in a list, or any (each was a 200 with the whole body)
    for condition in (f"W/{headers['ETag']}", f'"other", {headers["ETag"]}', "*"):
        status, not_modified, body = edge_get(url, headers={"If-None-Match": condition})
        assert (status, body, not_modified["ETag"]) == (304, b"", headers["ETag"]) and "max-age" in not_modified["Cache-Control"]
    assert edge_get(url, headers={"If-None-Match": '"other"'})[0] == 200
    status, headers, body = edge_get(edge_url(up, f"status/{key}.json"))
    assert status == 200 and headers["Content-Type"].startswith("application/json") and json.loads(body)["state"] == "done"
    assert edge_get(edge_url(up, "pixelated/no/such/object.png"))[0] == 404


def test_an_upload_through_the_api_and_a_presigned_post_the_browser_can_reach(up):
    import requests

    photo = (SAMPLES / "coffee.png").read_bytes()
    request = {"filename": "my coffee.png", "content_type": "image/png", "size": len(photo), "pixel_size": 12}
    status, _headers, body = edge_get(up.outputs["ApiUrl"] + "/uploads", method="POST", data=json.dumps(request).encode(),
                                      headers={"Content-Type": "application/json"})
    assert status == 201, body
    answer = json.loads(body)
    upload = answer["upload"]
    assert upload["url"].startswith(up.outputs["EndpointUrl"])  # moto on loopback: reachable from the browser
    posted = requests.post(upload["url"], data=upload["fields"], files={"file": ("my coffee.png", photo, "image/png")},
                           headers={"Origin": up.outputs["DistributionUrl"]}, timeout=30)
    assert posted.status_code in (200, 201, 204), posted.text
    assert posted.headers.get("Access-Control-Allow-Origin")  # moto's CORS lets the page post cross-origin
    deadline = time.monotonic() + STATUS_TIMEOUT_S
    while True:
        status, _headers, body = edge_get(f"{up.outputs['ApiUrl']}/uploads/{answer['id']}")
        if status == 200 or time.monotonic() > deadline:
            break
        assert status == 404, body  # "no status yet"
        time.sleep(0.3)
    record = json.loads(body)
    assert record["state"] == "done" and record["options"]["pixel_size"] == 12
    status, headers, image = edge_get(record["image_url"])
    assert record["image_url"].startswith(up.outputs["DistributionUrl"] + "/pixelated/")
    assert status == 200 and headers["Content-Type"] == "image/png" and image[:4] == b"\x89PNG"


def test_api_errors_are_json_4xx_through_the_edge(up):
    status, headers, body = edge_get(up.outputs["ApiUrl"] + "/uploads", method="POST", data=b"not json",
                                     headers={"Content-Type": "application/json"})
    assert 400 <= status < 500 and headers["Content-Type"].startswith("application/json") and "error" in json.loads(body)
    assert edge_get(up.outputs["ApiUrl"] + "/no-such-route")[0] == 404


# ---- a worker killed mid-batch, a second stack beside the first, SIGTERM ----------------------------------


def test_a_worker_killed_mid_batch_loses_nothing_beside_another_stack_and_sigterm_stops_all(up, tmp_path):
    # Batches of 10, so a worker holds many messages; the shortest visibility timeout the template allows.
    second = UpProcess(tmp_path, "--workers", "2", "--parameter", "BatchSize=10", "--parameter", "QueueVisibilityTimeout=30")
    try:
        assert second.outputs["EndpointUrl"] != up.outputs["EndpointUrl"]
        assert second.outputs["DistributionUrl"] != up.outputs["DistributionUrl"]
        s3 = second.client("s3")
        sqs = second.client("sqs")
        photos = [CORPUS / name for name in ("hopper.jpg", "hopper.png", "hopper.gif", "hopper.webp")] + sorted(SAMPLES.glob("*.png"))
        keys: list[str] = []
        killed: list[int] = []
        # Kill every worker while the queue has messages in flight: only the workers hold messages, so each of
        # those is in a batch that a worker received and had not finished (nothing is deleted before the batch
        # ends). Faces make each job slow enough to catch a batch; still, a worker may finish its batch between
        # the look and the kill, so the test checks that the dead workers did hold messages and tries a new
        # round if they did not (that race, lost, once made this test fail in CI).
        for round_number in range(3):
            uploads = {f"batch/{round_number}-{i:02d}-{path.name}": path for i in range(3) for path in photos}
            for key, path in uploads.items():
                s3.put_object(Bucket=second.outputs["OriginalsBucket"], Key=key, Body=path.read_bytes(),
                              Metadata={"faces": "true"})
            keys += uploads
            deadline = time.monotonic() + STATUS_TIMEOUT_S
            while time.monotonic() < deadline and in_flight(sqs, second) < 2:
                time.sleep(0.01)
            workers = second.stack()["Local"]["Processes"]["Workers"]  # read now: the ones holding the messages
            assert not set(workers) & set(killed), "the stack still lists a worker killed in an earlier round"
            for pid in workers:
                os.kill(pid, signal.SIGKILL)
            killed += workers
            # A delete the dead sent just before the kill may still be on its way to moto: look twice, a moment
            # apart (replacements need a second or more to start and poll, so what is in flight was the dead's).
            time.sleep(0.3)
            held = in_flight(sqs, second) > 0
            time.sleep(0.2)
            if held and in_flight(sqs, second) > 0:
                break
            deadline = time.monotonic() + 30
            while set(second.stack()["Local"]["Processes"]["Workers"]) & set(killed) and time.monotonic() < deadline:
                time.sleep(0.1)  # the next round waits for the replacements to be listed
        else:
            pytest.fail(f"three rounds, and every batch ended before its worker was killed:\n{second.log()[-3000:]}")
        # Meanwhile the first stack is untouched and still answers.
        assert not status_keys_under(up, "batch/")
        assert edge_get(up.outputs["DistributionUrl"] + "/")[0] == 200

        records = wait_for_statuses(second, keys, timeout=30 + STATUS_TIMEOUT_S)
        assert all(record["state"] == "done" for record in records.values())
        assert sorted(status_keys_under(second, "batch/")) == sorted(f"status/{key}.json" for key in keys)
        assert "(delivery 2)" in second.log()  # the killed workers' messages came back after the visibility timeout
        replacements = second.stack()["Local"]["Processes"]["Workers"]
        assert len(replacements) == 2 and not set(replacements) & set(killed)
        depth = sqs.get_queue_attributes(QueueUrl=second.outputs["DeadLetterQueueUrl"], AttributeNames=["ApproximateNumberOfMessages"])
        assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0"

        children = second.stack()["Local"]["Processes"]
        pids = [children["Moto"], children["Edge"], *children["Workers"]]
    finally:
        started = time.monotonic()
        code = second.stop(signal.SIGTERM)
    assert code == 0 and time.monotonic() - started < 10
    assert not second.stack_file.exists()
    time.sleep(0.5)
    for pid in pids:
        assert not pid_alive(pid), f"child {pid} outlived pixelate up"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for every purpose but its table entry.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[1].split()[0] != "Z"
    except OSError:
        return False


def test_with_every_s3_request_failing_a_job_is_retried_then_dead_lettered(tmp_path):
    """The transient path end to end: the real handler, injected S3 faults, SQS redelivery and the redrive."""
    stack = UpProcess(tmp_path, "--workers", "1", "--inject-faults", "1",
                      "--parameter", "MaxReceiveCount=1", "--parameter", "QueueVisibilityTimeout=30")
    try:
        key = "doomed/hopper.jpg"
        stack.client("s3").put_object(Bucket=stack.outputs["OriginalsBucket"], Key=key, Body=(CORPUS / "hopper.jpg").read_bytes())
        sqs = stack.client("sqs")
        deadline = time.monotonic() + 30 + STATUS_TIMEOUT_S
        dead = []
        while not dead and time.monotonic() < deadline:
            dead = sqs.receive_message(QueueUrl=stack.outputs["DeadLetterQueueUrl"], WaitTimeSeconds=1,
                                       AttributeNames=["All"]).get("Messages", [])
        assert dead, stack.log()[-3000:]
        record = json.loads(dead[0]["Body"])["Records"][0]
        assert urllib.parse.unquote_plus(record["s3"]["object"]["key"]) == key
        assert "retry" in stack.log() and "(delivery 1)" in stack.log()
        assert not status_keys_under(stack, "doomed/")  # a transient failure writes no status
    finally:
        stack.stop()
