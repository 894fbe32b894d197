"""The security headers have ONE text (``pixelate/deploy/security_headers.py``): the local edge sends it, and on AWS
CloudFront's response headers policies in cloudformation.yaml hold exactly the same (issue 18, item 11)."""
from __future__ import annotations

import pytest

from pixelate.deploy.security_headers import COMMON_HEADERS, RESULT_POLICY, aws_upload_origins, page_policy
from pixelate.deploy.template import Context, load_template, parameter_defaults, resolve


def directives(policy: str) -> dict[str, list[str]]:
    found = {}
    for part in policy.split(";"):
        name, *values = part.split()
        assert name not in found, f"{name} twice"
        found[name] = values
    return found


def test_the_page_may_upload_only_to_the_given_storage_origins():
    local = directives(page_policy("local", ["http://127.0.0.1:5123"]))
    assert local["default-src"] == ["'none'"] and local["connect-src"] == ["'self'", "http://127.0.0.1:5123"]
    assert local["script-src"] == local["style-src"] == ["'self'"]  # nothing inline, nothing from elsewhere
    assert local["img-src"] == ["'self'", "blob:", "data:"]  # previews are blob: URLs, results same-origin
    assert local["object-src"] == ["'none'"] and local["frame-ancestors"] == ["'none'"] and local["base-uri"] == ["'none'"]
    assert "upgrade-insecure-requests" not in local  # local is plain HTTP: upgrading would break it
    aws = directives(page_policy("aws", aws_upload_origins("b-originals", "eu-west-1")))
    assert aws["connect-src"] == ["'self'", "https://b-originals.s3.amazonaws.com", "https://b-originals.s3.eu-west-1.amazonaws.com"]
    assert aws["upgrade-insecure-requests"] == []
    assert not {"https:", "http:", "*"} & set(sum(aws.values(), []))  # no scheme-wide or wildcard source
    with pytest.raises(ValueError):
        page_policy("staging")
    for bad in ("http://127.0.0.1:5123; script-src *", "javascript:alert(1)", "https://b.s3.amazonaws.com/path", "https://*"):
        with pytest.raises(ValueError):
            page_policy("local", [bad])


def context(template: dict, stack: str, region: str) -> Context:
    return Context(template, {**parameter_defaults(template), "CodeBucket": "b", "CodeKey": "k"},
                   pseudo={"AWS::Region": region, "AWS::AccountId": "123456789012", "AWS::StackName": stack})


@pytest.mark.parametrize("stack, region", [("pixelator", "eu-west-1"), ("my-stack", "us-east-1")])
def test_cloudfront_sends_the_page_policy_of_the_module(stack, region):
    template = load_template()
    ctx = context(template, stack, region)
    bucket = resolve(template["Resources"]["OriginalsBucket"]["Properties"]["BucketName"], ctx)
    config = template["Resources"]["PageResponseHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    csp = config["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    assert csp["Override"] is True
    assert resolve(csp["ContentSecurityPolicy"], ctx) == page_policy("aws", aws_upload_origins(bucket, region))
    behaviour = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "PageResponseHeadersPolicy"}
    assert len(resolve(csp["ContentSecurityPolicy"], ctx)) <= 1783  # CloudFront's limit for the header


def test_cloudfront_sends_the_result_policy_and_the_common_headers_everywhere():
    template = load_template()
    for logical_id in ("PageResponseHeadersPolicy", "ResultsResponseHeadersPolicy", "StatusResponseHeadersPolicy"):
        security = template["Resources"][logical_id]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
        assert security["ContentTypeOptions"]["Override"] is True
        assert security["FrameOptions"]["FrameOption"] == COMMON_HEADERS["X-Frame-Options"]
        assert security["ReferrerPolicy"]["ReferrerPolicy"] == COMMON_HEADERS["Referrer-Policy"]
        if logical_id != "PageResponseHeadersPolicy":
            assert security["ContentSecurityPolicy"]["ContentSecurityPolicy"] == RESULT_POLICY


def test_the_presigned_post_goes_where_the_policy_allows(monkeypatch):
    # the URL the api's signing client gives is one of the origins the AWS policy names, in any region
    import boto3

    from pixelate.service.aws import PRESIGN_CONFIG

    for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        client = boto3.client("s3", region_name=region, config=PRESIGN_CONFIG, aws_access_key_id="x",
                              aws_secret_access_key="y")
        bucket = "pixelator-originals-123456789012-" + region
        url = client.generate_presigned_post(bucket, "uploads/a/b.jpg")["url"]
        assert url.rstrip("/") in aws_upload_origins(bucket, region), url


def test_results_are_sandboxed_with_nothing_allowed():
    found = directives(RESULT_POLICY)
    assert found["sandbox"] == [] and found["default-src"] == ["'none'"] and found["frame-ancestors"] == ["'none'"]
