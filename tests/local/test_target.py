"""The template deploys to moto's CloudFormation through the deploy functions, and works there.

Real boto3 against moto's server (the session's ``moto_endpoint``); each test module uses stack names of
its own, so buckets and queues never collide with other tests on the same server.
"""
from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from pixelate.deploy import stack, stackfile
from pixelate.local import target
from pixelate.deploy.template import load_template, template_text
from pixelate.local.emulate import EMULATED, NOT_EMULATED, STOOD_IN
from tests.support.paths import SAMPLES

pytestmark = [
    pytest.mark.slow,  # a stack create on moto takes ~3 s
    # moto names each resource type its CloudFormation ignores; the emulation report covers them
    pytest.mark.filterwarnings("ignore:Tried to parse AWS::"),
]

REGION = "us-east-1"
DOCUMENTED = {"OriginalsBucket", "ProcessedBucket", "JobQueueUrl", "DeadLetterQueueUrl", "NotificationTopicArn"}


def _client(name: str, endpoint: str):
    return boto3.client(name, endpoint_url=endpoint, region_name=REGION, **stackfile.LOCAL_CREDENTIALS)


def _stack_name() -> str:
    return f"pix{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def deployed(moto_endpoint, tmp_path_factory):
    name = _stack_name()
    result = target.deploy_local(moto_endpoint, REGION, name, build_dir=tmp_path_factory.mktemp("build"))
    yield name, result
    target.destroy_local(moto_endpoint, REGION, name)


def _jobs(sqs, queue_url: str, want: int, timeout: float = 10.0) -> list[dict]:
    """S3 event records on the queue, skipping the s3:TestEvent S3 sends when a notification is set."""
    records, deadline = [], time.monotonic() + timeout
    while len(records) < want and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            body = json.loads(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            if body.get("Event") == "s3:TestEvent":
                continue
            records.extend(body["Records"])
    return records


def test_outputs_are_the_documented_ones_plus_the_endpoint(deployed, moto_endpoint):
    name, result = deployed
    assert DOCUMENTED <= set(result)
    assert result["EndpointUrl"] == moto_endpoint and result["Region"] == REGION
    assert "DistributionUrl" not in result and "ApiUrl" not in result  # the local edge adds those
    assert result["OriginalsBucket"] == f"{name}-originals-123456789012-{REGION}"
    assert result["PixelateFunctionArn"].endswith(f":function:{name}-pixelate")
    assert "BackfillStateMachineArn" not in result  # AWS only: `pixelate backfill` sends the messages locally
    assert result["StackAction"] == "created"


def test_a_photo_put_into_originals_reaches_the_job_queue_with_its_key(deployed, moto_endpoint):
    _, result = deployed
    s3, sqs = _client("s3", moto_endpoint), _client("sqs", moto_endpoint)
    key = "uploads/3f2a/my holiday+photo é.jpg"
    with open(SAMPLES / "rocket.jpg", "rb") as photo:
        s3.put_object(Bucket=result["OriginalsBucket"], Key=key, Body=photo.read(), ContentType="image/jpeg")
    record, = _jobs(sqs, result["JobQueueUrl"], want=1)
    from urllib.parse import unquote_plus

    assert record["eventName"].startswith("ObjectCreated:")
    assert record["s3"]["bucket"]["name"] == result["OriginalsBucket"]
    assert record["s3"]["object"]["key"] != key  # S3 encodes it (quote_plus, "/" included) ...
    assert unquote_plus(record["s3"]["object"]["key"]) == key  # ... and this restores it


def test_the_runner_can_read_functions_and_mapping_from_moto(deployed, moto_endpoint):
    name, result = deployed
    lam, sqs = _client("lambda", moto_endpoint), _client("sqs", moto_endpoint)
    function = lam.get_function_configuration(FunctionName=f"{name}-pixelate")
    assert function["Handler"] == "pixelate.service.handler.lambda_handler"
    env = function["Environment"]["Variables"]
    assert env["PROCESSED_BUCKET"] == result["ProcessedBucket"]
    assert env["NOTIFICATION_TOPIC_ARN"] == result["NotificationTopicArn"]
    assert str(env["DEFAULT_PIXEL_SIZE"]) == "16"
    api = lam.get_function_configuration(FunctionName=f"{name}-api")
    assert api["Handler"] == "pixelate.service.api.lambda_handler"
    assert api["Environment"]["Variables"]["ORIGINALS_BUCKET"] == result["OriginalsBucket"]
    mapping, = lam.list_event_source_mappings(FunctionName=f"{name}-pixelate")["EventSourceMappings"]
    assert mapping["BatchSize"] == 1 and mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    attributes = sqs.get_queue_attributes(QueueUrl=result["JobQueueUrl"], AttributeNames=["All"])["Attributes"]
    assert mapping["EventSourceArn"] == attributes["QueueArn"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == 3 and redrive["deadLetterTargetArn"].endswith(
        result["DeadLetterQueueUrl"].rsplit("/", 1)[-1])
    assert int(attributes["VisibilityTimeout"]) == 360


def test_what_moto_ignores_is_applied_through_the_api(deployed, moto_endpoint):
    _, result = deployed
    s3, sqs = _client("s3", moto_endpoint), _client("sqs", moto_endpoint)
    originals = result["OriginalsBucket"]
    assert s3.get_bucket_cors(Bucket=originals)["CORSRules"][0]["AllowedMethods"] == ["POST"]
    rules = s3.get_bucket_lifecycle_configuration(Bucket=originals)["Rules"]
    assert rules[0]["Expiration"] == {"Days": 7} and rules[0]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1
    block = s3.get_public_access_block(Bucket=originals)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=result["JobQueueUrl"], AttributeNames=["Policy"])["Attributes"]["Policy"])
    allow, = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"] == f"arn:aws:s3:::{originals}"
    # moto enforces bucket policies but speaks plain HTTP: the TLS-only statement stays out, and says so
    with pytest.raises(ClientError):
        s3.get_bucket_policy(Bucket=originals)
    by_id = {}
    for item in result["Emulation"]:
        by_id.setdefault(item["logical_id"], []).append(item)
    assert any("NotificationConfiguration" in e["detail"] and e["status"] == EMULATED for e in by_id["OriginalsBucket"])
    assert by_id["OriginalsBucketPolicy"][0]["status"] == NOT_EMULATED
    assert "DenyInsecureTransport" in by_id["OriginalsBucketPolicy"][0]["detail"]
    assert by_id["Distribution"][0]["status"] == STOOD_IN and by_id["HttpApi"][0]["status"] == STOOD_IN
    assert by_id["DeadLetterQueueAlarm"][0]["status"] == NOT_EMULATED
    assert "source-only zip" in by_id["PixelateFunction"][0]["detail"]
    # moto would keep the backfill state machine with an empty definition: `pixelate backfill` stands in for it
    assert by_id["BackfillStateMachine"][0]["status"] == STOOD_IN
    assert "pixelate backfill" in by_id["BackfillStateMachine"][0]["detail"]
    assert set(by_id) == set(load_template()["Resources"])  # every resource is accounted for


def test_update_keeps_the_pipeline_and_destroy_removes_everything(moto_endpoint, tmp_path):
    name = _stack_name()
    first = target.deploy_local(moto_endpoint, REGION, name, build_dir=tmp_path)
    second = target.deploy_local(moto_endpoint, REGION, name, parameters={"DefaultPixelSize": 32}, build_dir=tmp_path)
    assert second["StackAction"] == "updated"
    lam, s3, sqs = (_client(n, moto_endpoint) for n in ("lambda", "s3", "sqs"))
    assert str(lam.get_function_configuration(FunctionName=f"{name}-pixelate")["Environment"]["Variables"]["DEFAULT_PIXEL_SIZE"]) == "32"
    # parameters not given again keep their values (UsePreviousValue), as on AWS
    third = target.deploy_local(moto_endpoint, REGION, name, parameters={"MaxConcurrency": 5}, build_dir=tmp_path)
    assert third["StackAction"] == "updated"
    variables = lam.get_function_configuration(FunctionName=f"{name}-pixelate")["Environment"]["Variables"]
    assert str(variables["DEFAULT_PIXEL_SIZE"]) == "32"
    s3.put_object(Bucket=second["OriginalsBucket"], Key="after update.png", Body=b"x")
    assert [r["s3"]["object"]["key"] for r in _jobs(sqs, second["JobQueueUrl"], want=1)] == ["after+update.png"]

    target.destroy_local(moto_endpoint, REGION, name)
    cfn = _client("cloudformation", moto_endpoint)
    assert stack.describe_stack(cfn, name) is None
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert not {first["OriginalsBucket"], first["ProcessedBucket"]} & buckets
    assert not any(b.startswith(f"{name}-artifacts") for b in buckets)


def test_change_set_path_creates_then_reports_no_change(moto_endpoint):
    # the AWS path, exercised against moto (whose change sets do everything but compute outputs)
    name = _stack_name()
    cfn, s3 = _client("cloudformation", moto_endpoint), _client("s3", moto_endpoint)
    bucket = f"{name}-code"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="code.zip", Body=b"PK\x05\x06" + bytes(18))
    params = stack.stack_parameters(load_template(), {"Environment": "local", "CodeBucket": bucket, "CodeKey": "code.zip"})
    body = {"TemplateBody": template_text()}
    assert stack.deploy_change_set(cfn, name, body, params, delay=1) == "created"
    assert stack.describe_stack(cfn, name)["StackStatus"] == "CREATE_COMPLETE"
    assert stack.deploy_change_set(cfn, name, body, params, delay=1) == "unchanged"
    stack.delete_stack(cfn, s3, name, delay=1)
    assert stack.describe_stack(cfn, name) is None
    stack.delete_bucket(s3, bucket)


def test_unknown_parameters_are_refused_before_anything_is_created(moto_endpoint):
    with pytest.raises(stack.DeployError, match="PixelSize"):
        stack.stack_parameters(load_template(), {"PixelSize": 8})


def test_stack_file_holds_the_flat_outputs(tmp_path, deployed):
    _, result = deployed
    path = stackfile.write_stack_file(result, tmp_path)
    assert path == tmp_path / ".pixelate" / "stack.json"
    written = stackfile.read_stack_file(tmp_path)
    assert written["JobQueueUrl"] == result["JobQueueUrl"] and written["EndpointUrl"] == result["EndpointUrl"]
    assert "Emulation" not in written and "StackAction" not in written
    assert stackfile.read_stack_file(tmp_path / "nowhere") is None
    assert not stackfile.forget_stack_file(tmp_path, "http://127.0.0.1:1")  # another endpoint's: kept
    assert stackfile.forget_stack_file(tmp_path, result["EndpointUrl"]) and stackfile.read_stack_file(tmp_path) is None


def test_redeploying_to_the_running_local_stack_keeps_what_up_wrote(tmp_path, deployed, moto_endpoint):
    name, result = deployed
    up_wrote = {"EndpointUrl": moto_endpoint, "DistributionUrl": "http://127.0.0.1:9999",
                "ApiUrl": "http://127.0.0.1:9999/api", "Local": {"Processes": {"Moto": 1}}}
    stackfile.write_stack_file(up_wrote, tmp_path)
    again = target.deploy("local", name, REGION, endpoint_url=moto_endpoint, folder=tmp_path, build_dir=tmp_path)
    assert again["DistributionUrl"] == "http://127.0.0.1:9999"
    written = stackfile.read_stack_file(tmp_path)
    assert written["Local"] == up_wrote["Local"] and written["ApiUrl"] == up_wrote["ApiUrl"]
    assert written["JobQueueUrl"] == result["JobQueueUrl"]


def test_the_page_goes_under_site_with_its_content_types(moto_endpoint, tmp_path):
    # what deploy_aws uploads for CloudFront's default origin (path /site)
    s3 = _client("s3", moto_endpoint)
    bucket = f"{_stack_name()}-site"
    s3.create_bucket(Bucket=bucket)
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>")
    (tmp_path / "app.js").write_text("console.log(1)")
    assert stack.upload_site(s3, bucket, tmp_path) == ["site/app.js", "site/index.html"]
    head = s3.head_object(Bucket=bucket, Key="site/index.html")
    assert head["ContentType"] == "text/html" and head["CacheControl"] == "no-cache"
    assert s3.head_object(Bucket=bucket, Key="site/app.js")["ContentType"] in ("text/javascript", "application/javascript")
    assert stack.upload_site(s3, bucket, tmp_path / "missing") == []
    stack.delete_bucket(s3, bucket)


def test_cli_deploy_and_destroy_against_a_given_endpoint(moto_endpoint, tmp_path, capsys, monkeypatch):
    from pixelate.cli import main

    monkeypatch.chdir(tmp_path)  # the source zip is built under ./build
    name = _stack_name()
    assert main(["deploy", "--endpoint-url", moto_endpoint, "--stack-name", name, "--folder", str(tmp_path),
                 "--param", "DefaultPixelSize=24"]) == 0
    printed = capsys.readouterr().out
    assert f"stack {name}: created" in printed and "stood in for by the local stack" in printed
    assert stackfile.read_stack_file(tmp_path)["OriginalsBucket"].startswith(f"{name}-originals-")
    assert main(["destroy", "--endpoint-url", moto_endpoint, "--stack-name", name]) == 0
    assert stack.describe_stack(_client("cloudformation", moto_endpoint), name) is None


def test_cli_local_without_a_running_stack_says_what_to_do(tmp_path, capsys):
    from pixelate.cli import main

    with pytest.raises(SystemExit, match="pixelate up"):
        main(["deploy", "--folder", str(tmp_path)])
