"""The local edge and moto after the security review (issue 18, items 5, 6, 10, 11): what the edge refuses before
reading a request, how long it waits, what it never echoes, the headers it sends, and moto's CORS.

A real edge child and a real moto child, spoken to over raw sockets where the request is malformed on purpose.
The sockets of the tests wait at most ``CLIENT_WAIT_S``: an edge that never answers (as before) fails the test
by that bound; no assertion is about how fast anything is.
"""
from __future__ import annotations

import json
import socket

import boto3
import pytest
import requests

from pixelate.deploy.security_headers import RESULT_POLICY, page_policy
from pixelate.local import edge_guard
from pixelate.local.edge import Edge, EdgeConfig
from pixelate.local.lambda_sim import FunctionSettings
from tests.support.paths import CORPUS, REPO

pytestmark = pytest.mark.slow

CLIENT_WAIT_S = 30
IDLE_S = 1.0


@pytest.fixture(scope="module")
def stack(moto):
    """An originals bucket whose CORS allows the edge's origin, a processed bucket with one result, an edge."""
    s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    s3.create_bucket(Bucket="originals")
    s3.create_bucket(Bucket="processed")
    s3.put_object(Bucket="processed", Key="pixelated/a.png", Body=(CORPUS / "hopper.png").read_bytes(), ContentType="image/png")
    s3.put_object(Bucket="originals", Key="uploads/x/secret.png", Body=b"the original", ContentType="image/png")
    edge = Edge(port=0)
    url = edge.start()
    s3.put_bucket_cors(Bucket="originals", CORSConfiguration={"CORSRules": [
        {"AllowedMethods": ["POST"], "AllowedOrigins": [url], "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"]}]})
    api = FunctionSettings(
        name="api", arn="arn:aws:lambda:us-east-1:123456789012:function:api", handler="pixelate.service.api.lambda_handler",
        environment={"ORIGINALS_BUCKET": "originals", "PROCESSED_BUCKET": "processed", "MAX_UPLOAD_BYTES": "1000000",
                     "PUBLIC_BASE_URL": url},
        timeout_s=10, memory_mb=1024,
    )
    edge.configure(EdgeConfig(endpoint_url=moto.url, region="us-east-1", processed_bucket="processed",
                              web_folder=str(REPO / "pixelate" / "web"), api=api, idle_timeout_s=IDLE_S))
    yield edge, s3
    edge.stop()


def raw(edge: Edge, data: bytes, read_until_close: bool = True) -> bytes:
    """Send ``data`` as it is; return what comes back until the edge closes (or CLIENT_WAIT_S passes: raises)."""
    with socket.create_connection((edge.host, edge.port), timeout=CLIENT_WAIT_S) as sock:
        sock.sendall(data)
        received = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return received
            received += chunk
            if not read_until_close and b"\r\n\r\n" in received:
                return received


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def request(edge: Edge, head: str, body: bytes = b"") -> bytes:
    return raw(edge, head.replace("\n", "\r\n").encode() + b"\r\n" + body)


# --- pure ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value,status", [("-1", 400), ("abc", 400), ("1e3", 400), (" 12x", 400), ("١٢", 400),
                                          (str(10 * 1024**3), 413), (str(edge_guard.MAX_BODY_BYTES + 1), 413)])
def test_bad_content_lengths(value, status):
    with pytest.raises(edge_guard.Refusal) as refused:
        edge_guard.body_length({"Content-Length": value})
    assert refused.value.status == status


def test_good_content_lengths_and_chunked():
    assert edge_guard.body_length({}) == 0
    assert edge_guard.body_length({"Content-Length": " 42 "}) == 42
    with pytest.raises(edge_guard.Refusal) as refused:
        edge_guard.body_length({"Transfer-Encoding": "chunked"})
    assert refused.value.status == 411


def test_hosts():
    allowed = edge_guard.allowed_hosts("127.0.0.1", 8000)
    edge_guard.check_host("127.0.0.1:8000", allowed)
    edge_guard.check_host("LOCALHOST:8000", allowed)
    for value, status in [("evil.example", 421), ("evil.example:8000", 421), ("127.0.0.1:8001", 421), ("127.0.0.1", 421), (None, 400)]:
        with pytest.raises(edge_guard.Refusal) as refused:
            edge_guard.check_host(value, allowed)
        assert refused.value.status == status


# --- the live edge -----------------------------------------------------------------------------------------


def test_a_foreign_host_is_misdirected(stack):
    """DNS rebinding: a page of another site, resolved to 127.0.0.1, sends its own name."""
    edge, _ = stack
    assert status_of(request(edge, f"GET / HTTP/1.1\nHost: rebind.evil.example:{edge.port}\n")) == 421
    assert status_of(request(edge, "GET /api/uploads/" + "a" * 32 + " HTTP/1.1\nHost: evil.example\n")) == 421
    assert status_of(request(edge, "GET / HTTP/1.0\n")) == 400
    assert status_of(request(edge, f"GET / HTTP/1.1\nHost: 127.0.0.1:{edge.port}\nConnection: close\n")) == 200


def test_localhost_is_sent_to_the_origin_uploads_are_allowed_from(stack):
    edge, _ = stack
    answer = request(edge, f"GET /index.html HTTP/1.1\nHost: localhost:{edge.port}\nConnection: close\n")
    assert status_of(answer) == 308
    assert f"Location: http://127.0.0.1:{edge.port}/index.html".encode() in answer


@pytest.mark.parametrize("length,status", [("-1", 400), (str(10 * 1024**3), 413), ("abc", 400)])
def test_bad_lengths_are_answered_at_once_and_the_connection_closed(stack, length, status):
    """Before: ``Content-Length: -1`` or 10 GB with 2 bytes sent got no answer at all."""
    edge, _ = stack
    answer = request(edge, f"POST /api/uploads HTTP/1.1\nHost: 127.0.0.1:{edge.port}\nContent-Length: {length}\n", b"{}")
    assert status_of(answer) == status
    assert b"Connection: close" in answer
    # on /api, JSON as API Gateway's own refusals are (a client reading every 4xx as JSON got plain text)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"Content-Type: application/json" in head and json.loads(body)["message"]


def test_a_large_body_is_refused_without_being_read(stack):
    """Before: an 80 MB body was read into memory (the edge grew by 280 MB). Now 413 after the headers, and the
    edge closes the connection instead of reading the rest."""
    edge, _ = stack
    with socket.create_connection((edge.host, edge.port), timeout=CLIENT_WAIT_S) as sock:
        sock.sendall(f"POST /api/pixelate HTTP/1.1\r\nHost: 127.0.0.1:{edge.port}\r\nContent-Length: {80 * 1024 * 1024}\r\n\r\n".encode())
        sock.sendall(b"\0" * 65536)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
    assert status_of(answer) == 413


def test_a_half_sent_request_is_closed_after_the_idle_timeout(stack):
    """Before: 2 bytes of a declared 10 kept the connection (and its thread) open for ever."""
    edge, _ = stack
    assert request(edge, f"POST /api/uploads HTTP/1.1\nHost: 127.0.0.1:{edge.port}\nContent-Length: 10\n", b"{}") == b""


def test_an_idle_connection_is_closed(stack):
    edge, _ = stack
    assert raw(edge, b"") == b""  # connected, nothing sent: closed by the edge, not by CLIENT_WAIT_S
    assert raw(edge, b"GET / HTTP/1.1\r\nHost: 127.0.0.1") == b""  # headers never finished


def test_an_origin_error_is_a_bare_502(stack, moto):
    """Before, a 502 carried ``origin error: {exc}`` (endpoints, bucket names, botocore's words)."""
    edge, _ = stack
    broken = Edge(port=0)
    broken.start()
    try:
        broken.configure(EdgeConfig(endpoint_url="http://127.0.0.1:9", region="us-east-1", processed_bucket="processed",
                                    web_folder=str(REPO / "pixelate" / "web"), idle_timeout_s=IDLE_S))
        answer = requests.get(f"{broken.url}/pixelated/a.png", timeout=CLIENT_WAIT_S)
    finally:
        broken.stop()
    assert answer.status_code == 502
    assert answer.json() == {"message": "Bad Gateway"}
    assert "127.0.0.1:9" not in answer.text and "processed" not in answer.text


def test_the_page_has_its_policy_as_a_header_naming_moto_only(stack, moto):
    edge, _ = stack
    page = requests.get(f"{edge.url}/", timeout=CLIENT_WAIT_S)
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"] == page_policy("local", [moto.url])
    assert "http://127.0.0.1:*" not in page.headers["Content-Security-Policy"] and "https:" not in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "http-equiv=\"Content-Security-Policy\"" not in page.text  # no meta tag: the header is the one policy


def test_results_are_sandboxed_and_never_sniffed(stack):
    edge, _ = stack
    result = requests.get(f"{edge.url}/pixelated/a.png", timeout=CLIENT_WAIT_S)
    assert result.status_code == 200 and result.headers["Content-Type"] == "image/png"
    assert result.headers["Content-Security-Policy"] == RESULT_POLICY
    assert result.headers["Content-Security-Policy"].startswith("sandbox")
    assert result.headers["X-Content-Type-Options"] == "nosniff"


def test_api_answers_carry_the_common_headers(stack):
    edge, _ = stack
    answer = requests.get(f"{edge.url}/api/uploads/{'a' * 32}", timeout=CLIENT_WAIT_S)
    assert answer.status_code == 404
    assert answer.headers["X-Content-Type-Options"] == "nosniff" and answer.headers["X-Frame-Options"] == "DENY"


# --- moto's CORS -----------------------------------------------------------------------------------------------


def test_moto_answers_no_other_origin(stack, moto):
    """Before, moto's global CORS answered ``Access-Control-Allow-Origin: *`` to every page on the web."""
    _, _ = stack
    for method, path in (("GET", "/originals/uploads/x/secret.png"), ("GET", "/processed/pixelated/a.png")):
        answer = requests.request(method, moto.url + path, headers={"Origin": "https://evil.example"}, timeout=CLIENT_WAIT_S)
        assert "Access-Control-Allow-Origin" not in answer.headers
    preflight = requests.options(moto.url + "/originals", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
                                 timeout=CLIENT_WAIT_S)
    assert preflight.headers.get("Access-Control-Allow-Origin") != "*"
    assert preflight.headers.get("Access-Control-Allow-Origin") != "https://evil.example"


def test_moto_applies_the_buckets_cors_for_the_edges_origin(stack, moto):
    edge, _ = stack
    preflight = requests.options(moto.url + "/originals", headers={"Origin": edge.url, "Access-Control-Request-Method": "POST"},
                                 timeout=CLIENT_WAIT_S)
    assert preflight.headers.get("Access-Control-Allow-Origin") == edge.url


def test_a_form_post_from_the_edges_page_can_be_read_and_from_another_cannot(stack, moto):
    """The page's presigned POST: moto leaves the bucket's CORS off a POST to the bucket, which ``moto_cors`` adds
    back for the allowed origin only (without it the page reported every upload as failed)."""
    edge, s3 = stack
    for origin, allowed in ((edge.url, True), ("https://evil.example", False)):
        post = s3.generate_presigned_post(Bucket="originals", Key=f"uploads/{origin[-5:]}/p.png")
        answer = requests.post(post["url"], data=post["fields"], files={"file": ("p.png", b"png", "image/png")},
                               headers={"Origin": origin}, timeout=CLIENT_WAIT_S)
        assert answer.status_code == 204
        assert answer.headers.get("Access-Control-Allow-Origin") == (origin if allowed else None)


def test_origin_matching_and_form_posts():
    from pixelate.local.moto_cors import bucket_of_post, origin_allowed

    assert origin_allowed("http://127.0.0.1:8000", ["http://127.0.0.1:8000"])
    assert origin_allowed("https://a.example.com", ["https://*.example.com"]) and origin_allowed("x", ["*"])
    assert not origin_allowed("https://evil.example", ["http://127.0.0.1:8000"])
    assert not origin_allowed("https://a.example.com.evil", ["https://*.example.com"])
    assert bucket_of_post("POST", "/originals") == bucket_of_post("POST", "/originals/") == "originals"
    assert bucket_of_post("POST", "/originals/key") is None and bucket_of_post("GET", "/originals") is None
