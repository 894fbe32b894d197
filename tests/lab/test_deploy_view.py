"""deploy.ipynb's wording: what a deploy needs, the local code zip, the URLs and the emulation grouped by resource."""
from __future__ import annotations

import zipfile

from pixelate.deploy.template import load_template
from pixelate.lab import deploy_view

EMULATION = [
    {"logical_id": "OriginalsBucket", "resource_type": "AWS::S3::Bucket", "status": "emulated through the API", "detail": "cors"},
    {"logical_id": "OriginalsBucket", "resource_type": "AWS::S3::Bucket", "status": "emulated through the API", "detail": "lifecycle"},
    {"logical_id": "OriginalsBucket", "resource_type": "AWS::S3::Bucket", "status": "created by moto's CloudFormation", "detail": "bucket"},
    {"logical_id": "JobQueue", "resource_type": "AWS::SQS::Queue", "status": "created by moto's CloudFormation", "detail": "queue"},
]


def test_an_aws_deploy_says_what_it_needs_and_that_it_is_untried():
    template = load_template()
    services = deploy_view.iam_services(template)
    assert {"cloudformation", "s3", "iam", "lambda", "sqs", "sns", "logs", "apigateway", "cloudfront", "cloudwatch",
            "states"} <= set(services)
    text = deploy_view.needs(template, "aws")
    assert "charges" in text and "never run against a real account" in text and "lambda:*" in text
    assert "no AWS account" in deploy_view.needs(template, "local")


def test_the_emulation_has_one_row_per_resource_under_its_service():
    entries = deploy_view.by_resource(EMULATION)
    assert [(e["resource"], e["statuses"], e["details"]) for e in entries] == [
        ("OriginalsBucket", ["emulated through the API", "created by moto's CloudFormation"], ["cors", "lifecycle", "bucket"]),
        ("JobQueue", ["created by moto's CloudFormation"], ["queue"])]
    html = deploy_view.by_resource_html(EMULATION)
    assert html.count("<tr><th colspan") == 2 and html.count("<td style") == 6 and "cors<br>lifecycle<br>bucket" in html
    assert deploy_view.status_counts(EMULATION) == (
        "2 resources: created by moto's CloudFormation 2, emulated through the API 1")


def test_urls_and_what_happens_next():
    up = {"DistributionUrl": "http://127.0.0.1:1", "ApiUrl": "http://127.0.0.1:1/api"}
    text = deploy_view.after_deploy(up, "local", started_server=False, teardown=False)
    assert text.splitlines()[:2] == ["the page: http://127.0.0.1:1", "the API: http://127.0.0.1:1/api"]
    assert "pipeline.ipynb uploads to it" in text
    alone = deploy_view.after_deploy({}, "local", started_server=True, teardown=False)
    assert "no page or API URL" in alone and "run `pixelate up`" in alone
    assert "deleted in the last cell" in deploy_view.after_deploy({}, "aws", started_server=False, teardown=True)


def test_the_source_zip_summary_counts_its_files(tmp_path):
    path = tmp_path / "code.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pixelate/__init__.py", "x" * 2048)
        archive.writestr("pixelate/a.py", "")
    assert "source only, 2 files" in deploy_view.source_zip_summary(path) and "2 KiB unzipped" in deploy_view.source_zip_summary(path)
