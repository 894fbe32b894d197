"""The page's Content-Security-Policy is written once (pixelate.deploy.csp) and CloudFront sends exactly it."""
from __future__ import annotations

import pytest

from pixelate.deploy.csp import RESULTS_POLICY, aws_upload_origins, page_policy
from pixelate.deploy.template import Context, load_template, parameter_defaults, resolve


def _directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        name, *values = part.split()
        assert name not in out, f"{name} twice"
        out[name] = values
    return out


def test_the_page_may_upload_only_to_the_given_storage_origin():
    local = _directives(page_policy("local", ["http://127.0.0.1:5123"]))
    assert local["connect-src"] == ["'self'", "http://127.0.0.1:5123"]
    assert local["script-src"] == local["style-src"] == ["'self'"]  # nothing inline, nothing from elsewhere
    assert local["img-src"] == ["'self'", "blob:", "data:"]  # previews are blob: URLs, results same-origin
    assert local["object-src"] == ["'none'"] and local["frame-ancestors"] == ["'none'"]
    assert "upgrade-insecure-requests" not in local  # local is plain HTTP: upgrading would break it
    aws = _directives(page_policy("aws", aws_upload_origins("b-originals", "eu-west-1")))
    assert aws["connect-src"] == ["'self'", "https://b-originals.s3.amazonaws.com", "https://b-originals.s3.eu-west-1.amazonaws.com"]
    assert aws["upgrade-insecure-requests"] == []
    assert not {"https:", "http:", "*"} & set(sum(aws.values(), []))  # no scheme-wide or wildcard source
    with pytest.raises(ValueError):
        page_policy("staging")
    with pytest.raises(ValueError):
        page_policy("local", ["http://127.0.0.1:5123; script-src *"])


@pytest.mark.parametrize("stack, region", [("pixelator", "eu-west-1"), ("my-stack", "us-east-1")])
def test_cloudfront_sends_the_aws_policy_of_the_csp_module(stack, region):
    tpl = load_template()
    ctx = Context(tpl, {**parameter_defaults(tpl), "CodeBucket": "b", "CodeKey": "k"},
                  pseudo={"AWS::Region": region, "AWS::AccountId": "123456789012", "AWS::StackName": stack})
    bucket = resolve(tpl["Resources"]["OriginalsBucket"]["Properties"]["BucketName"], ctx)
    config = tpl["Resources"]["PageResponseHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    csp = config["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    assert csp["Override"] is True
    assert resolve(csp["ContentSecurityPolicy"], ctx) == page_policy("aws", aws_upload_origins(bucket, region))
    behaviour = tpl["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "PageResponseHeadersPolicy"}
    assert len(resolve(csp["ContentSecurityPolicy"], ctx)) <= 1783  # CloudFront's limit for the header


def test_the_presigned_post_goes_where_the_policy_allows(monkeypatch):
    # the URL the api's signing client gives is one of the origins the AWS policy names, in any region
    import boto3

    from pixelate.service.aws import PRESIGN_CONFIG

    for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        client = boto3.client("s3", region_name=region, config=PRESIGN_CONFIG, aws_access_key_id="x",
                              aws_secret_access_key="y")
        url = client.generate_presigned_post("pixelator-originals-123456789012-" + region, "uploads/a/b.jpg")["url"]
        origin = url.rstrip("/")
        assert origin in aws_upload_origins("pixelator-originals-123456789012-" + region, region), url


def test_results_are_sandboxed_with_nothing_allowed():
    directives = _directives(RESULTS_POLICY)
    assert directives["default-src"] == ["'none'"] and directives["sandbox"] == []
