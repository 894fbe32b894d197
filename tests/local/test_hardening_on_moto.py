"""Issue 18's template and deploy changes on moto's server: results expire, queues are TLS-only, and a refused
AWS deploy (moto refuses the CloudFront resource, as `--target aws` against it shows) is one paragraph.

Real boto3 against the session's moto server; stack names of this module's own.
"""
from __future__ import annotations

import json
import uuid

import boto3
import pytest

from pixelate.deploy import package, stack, stackfile
from pixelate.local import target

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Tried to parse AWS::")]

REGION = "us-east-1"


def _client(name: str, endpoint: str):
    return boto3.client(name, endpoint_url=endpoint, region_name=REGION, **stackfile.LOCAL_CREDENTIALS)


def _name() -> str:
    return f"hard{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def deployed(moto_endpoint, tmp_path_factory):
    name = _name()
    result = target.deploy_local(moto_endpoint, REGION, name, parameters={"ResultRetentionDays": 3},
                                 build_dir=tmp_path_factory.mktemp("build"))
    yield name, result
    target.destroy_local(moto_endpoint, REGION, name)


def test_results_and_status_records_expire_on_the_local_stack_too(deployed, moto_endpoint):
    _, result = deployed
    rules = _client("s3", moto_endpoint).get_bucket_lifecycle_configuration(Bucket=result["ProcessedBucket"])["Rules"]
    expiring = {r["Filter"]["Prefix"]: r["Expiration"]["Days"] for r in rules if "Expiration" in r}
    assert expiring == {"pixelated/": 3, "status/": 3, "backfill-runs/": 3}
    assert all(r["Status"] == "Enabled" for r in rules)


def test_queues_carry_their_tls_only_policy_and_moto_does_not_enforce_it(deployed, moto_endpoint):
    # measured: moto stores SQS queue policies without enforcing them (it does enforce S3 bucket policies, whose
    # TLS statement the emulation leaves out). If moto starts enforcing them, this test is the first to say so.
    _, result = deployed
    sqs = _client("sqs", moto_endpoint)
    for url in (result["JobQueueUrl"], result["DeadLetterQueueUrl"]):
        policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
        deny = policy["Statement"][0]
        assert deny["Sid"] == "DenyInsecureTransport" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    sqs.send_message(QueueUrl=result["DeadLetterQueueUrl"], MessageBody="over plain HTTP")
    received = sqs.receive_message(QueueUrl=result["DeadLetterQueueUrl"], WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in received] == ["over plain HTTP"]
    sqs.delete_message(QueueUrl=result["DeadLetterQueueUrl"], ReceiptHandle=received[0]["ReceiptHandle"])
    emulation = {e["logical_id"]: e for e in result["Emulation"]}
    assert "not enforced by moto" in emulation["DeadLetterQueuePolicy"]["detail"]


@pytest.fixture
def prebuilt_package(monkeypatch, tmp_path):
    """deploy_aws with the package already built: the source zip stands for it (this test is about the stack)."""
    zip_path = package.source_zip(tmp_path)
    report = package.PackageReport(spec=package.PackageSpec("3.12", "arm64"), zip_path=zip_path, root=tmp_path,
                                   zip_bytes=zip_path.stat().st_size, unzipped_bytes=0, files=1,
                                   sha256=package.sha256_of(zip_path))
    monkeypatch.setattr(stack, "build_package", lambda spec, build_dir: report)
    return report


def test_a_refused_aws_deploy_is_one_paragraph_that_says_what_to_do(moto_endpoint, prebuilt_package, tmp_path):
    name = _name()
    with pytest.raises(stack.DeployError) as refused:
        stack.deploy_aws(name, REGION, build_dir=tmp_path)
    text = str(refused.value)
    assert "\n" not in text and "Traceback" not in text
    assert "ExecuteChangeSet" in text and "Distribution" in text  # what AWS (here moto) refused, in its words
    assert f"{moto_endpoint}, which is not AWS" in text and "Do:" in text
    # what the stack was left as, with its events: nothing failed resource by resource, and that is said too
    report = stack.failure_report(_client("cloudformation", moto_endpoint), name)
    assert "REVIEW_IN_PROGRESS" in report and "name no failed resource" in report
    assert "gone" in stack.failure_report(_client("cloudformation", moto_endpoint), _name())


def test_pixelate_deploy_to_aws_prints_the_refusal_without_a_traceback(moto_endpoint, prebuilt_package, tmp_path,
                                                                     capsys, monkeypatch):
    from pixelate.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["deploy", "--target", "aws", "--region", REGION, "--stack-name", _name(), "--folder", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pixelate deploy: AWS refused ExecuteChangeSet") and err.count("\n") == 1
    assert not (tmp_path / ".pixelate" / "stack.json").exists()


def test_missing_credentials_and_profiles_are_explained(monkeypatch, tmp_path, capsys):
    from pixelate.cli import main

    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    assert main(["deploy", "--target", "aws", "--region", REGION, "--profile", "pixelate-no-such-profile"]) == 1
    err = capsys.readouterr().err
    assert "profile pixelate-no-such-profile is not configured" in err and "aws configure" in err
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION",
                     "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(variable, raising=False)
    assert main(["destroy", "--target", "aws", "--stack-name", "x"]) == 1
    assert "No AWS region was given" in capsys.readouterr().err
