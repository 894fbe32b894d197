"""The API after the security review (issue 18): the signed upload policy, what answers do not say, deleting
one's result, and request bodies that used to answer 500."""
from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest
import requests

from pixelate.service import api, api_requests, handler
from tests.support.paths import CORPUS

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

HOPPER = (CORPUS / "hopper.png").read_bytes()


@pytest.fixture
def service(pipeline, monkeypatch):
    monkeypatch.setenv("ORIGINALS_BUCKET", pipeline.originals)
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1000000")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://cdn.example.com")
    return pipeline


def invoke(events, method, path, body=None):
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    return api.lambda_handler(events.http(method, path, body), None)


def answer(events, method, path, body=None):
    response = invoke(events, method, path, body)
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


def presign(events, **changes):
    status, body = answer(events, "POST", "/api/uploads", {"filename": "p.png", "content_type": "image/png", "size": len(HOPPER), **changes})
    assert status == 201, body
    return body


def policy_of(upload: dict) -> dict:
    return json.loads(base64.b64decode(upload["upload"]["fields"]["policy"]))


# --- the signed policy ----------------------------------------------------------------------------------------


def test_the_policy_pins_the_declared_size_and_type(service, events):
    conditions = policy_of(presign(events, size=777, content_type="image/webp"))["conditions"]
    assert ["content-length-range", 777, 777] in conditions
    assert {"Content-Type": "image/webp"} in conditions


def test_the_policy_expires_within_a_minute(service, events):
    expires = datetime.strptime(policy_of(presign(events))["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert api.UPLOAD_EXPIRY_SECONDS == 60
    assert timedelta(0) < expires - datetime.now(timezone.utc) <= timedelta(seconds=65)


@pytest.mark.parametrize("content_type", ["image/svg+xml", "image/svg", "image/x-icon", "image/vnd.adobe.photoshop", "text/html"])
def test_types_that_are_not_decoded_rasters_are_not_signed(service, events, content_type):
    status, body = answer(events, "POST", "/api/uploads", {"filename": "a.svg", "content_type": content_type, "size": 10})
    assert (status, body["error"]) == (400, "invalid-content-type")


@pytest.mark.parametrize("content_type", sorted(api_requests.UPLOAD_CONTENT_TYPES))
def test_every_raster_type_the_page_sends_is_signed(service, events, content_type):
    assert {"Content-Type": content_type} in policy_of(presign(events, content_type=content_type))["conditions"]


def test_the_page_sends_only_types_the_api_signs():
    # the page's table of upload types, in whichever of its modules holds it
    app = "".join(path.read_text() for path in sorted((CORPUS.parent.parent / "pixelate" / "web").glob("*.js")))
    table = app[app.index("const TYPE_BY_EXTENSION"):app.index("};", app.index("const TYPE_BY_EXTENSION"))]
    import re

    sent = set(re.findall(r'"(image/[^"]+)"', table)) - {"image/vnd.adobe.photoshop"}  # refused as it should be
    assert sent <= api_requests.UPLOAD_CONTENT_TYPES


# --- answers do not name the bucket ------------------------------------------------------------------------


def test_a_status_answer_names_neither_the_bucket_nor_the_originals_md5(service, events):
    upload = presign(events)
    etag = service.put(upload["key"], HOPPER)
    handler.lambda_handler(events.s3(service.originals, upload["key"]), None)
    response = invoke(events, "GET", f"/api/uploads/{upload['id']}")
    assert response["statusCode"] == 200
    assert service.originals not in response["body"] and etag not in response["body"]
    assert json.loads(response["body"])["source"] == service.source(upload["key"], etag)


def test_a_status_record_written_before_versions_is_answered_without_its_bucket_and_etag(service, events):
    """Records written until 2026-12-07 name the bucket and the original's ETag (a single-part upload's MD5)."""
    from pixelate.service import status

    upload = presign(events)
    etag = service.put(upload["key"], HOPPER)
    old = status.done_record({"bucket": service.originals, "key": upload["key"], "etag": etag},
                             {"pixel_size": 16, "method": "average", "regions": [], "faces": False},
                             {"key": status.output_key(upload["key"])}, 5)
    service.s3.put_object(Bucket=service.processed, Key=status.status_key(upload["key"]), Body=status.to_json(old))
    response = invoke(events, "GET", f"/api/uploads/{upload['id']}")
    assert json.loads(response["body"])["source"] == {"key": upload["key"]}
    assert service.originals not in response["body"] and etag not in response["body"]


def test_error_answers_do_not_name_the_bucket(service, events):
    from botocore.exceptions import ClientError

    from pixelate.service import aws

    def denied(params, **_):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": f"denied on {params.get('Bucket')}"},
                           "ResponseMetadata": {"HTTPStatusCode": 403}}, "ListObjectsV2")

    aws.s3_client().meta.events.register("before-parameter-build.s3.ListObjectsV2", denied)
    try:
        responses = [invoke(events, "GET", f"/api/uploads/{'a' * 32}"),
                     api.lambda_handler(events.http("DELETE", f"/api/uploads/{'a' * 32}", headers={"x-delete-token": "t"}), None)]
    finally:
        aws.s3_client().meta.events.unregister("before-parameter-build.s3.ListObjectsV2", denied)
    for response in responses:
        assert response["statusCode"] == 503
        assert service.processed not in response["body"] and service.originals not in response["body"]


# --- deleting one's result ---------------------------------------------------------------------------------


def uploaded(service, events, processed=True) -> dict:
    """An upload made as the page makes it (presign, then the multipart POST), processed unless told not."""
    upload = presign(events)
    posted = requests.post(upload["upload"]["url"], data=upload["upload"]["fields"],
                           files={"file": ("p.png", HOPPER, "image/png")}, timeout=30)
    assert posted.status_code in (200, 201, 204), posted.text
    if processed:
        assert handler.lambda_handler(events.s3(service.originals, upload["key"]), None) == {"outcomes": ["done"]}
    return upload


def delete(events, upload_id, token=None):
    headers = {"x-delete-token": token} if token is not None else {}
    return api.lambda_handler(events.http("DELETE", f"/api/uploads/{upload_id}", headers=headers), None)


def test_the_delete_token_is_answered_once_and_only_its_hash_is_signed(service, events):
    upload = presign(events)
    key_field = upload["upload"]["fields"]["x-amz-meta-delete-key"]
    assert key_field == hashlib.sha256(upload["delete_token"].encode()).hexdigest()
    assert {"x-amz-meta-delete-key": key_field} in policy_of(upload)["conditions"]
    assert upload["delete_token"] not in json.dumps(upload["upload"])


def test_delete_removes_the_result_its_status_and_the_original(service, events):
    upload, other = uploaded(service, events), uploaded(service, events)
    response = delete(events, upload["id"], upload["delete_token"])
    assert response["statusCode"] == 204 and not response.get("body")
    assert service.status(upload["key"]) is None and service.head_output(upload["key"]) is None
    assert service.s3.list_objects_v2(Bucket=service.originals, Prefix=upload["key"]).get("KeyCount") == 0
    assert answer(events, "GET", f"/api/uploads/{upload['id']}")[0] == 404
    # another upload is untouched, and a second delete finds nothing
    assert service.status(other["key"])["state"] == "done" and service.head_output(other["key"]) is not None
    again = delete(events, upload["id"], upload["delete_token"])
    assert (again["statusCode"], json.loads(again["body"])["error"]) == (404, "not-found")


@pytest.mark.parametrize("token", [None, "", "wrong", "OTHER"])
def test_the_id_alone_does_not_delete(service, events, token):
    """The id is in the image's URL: whoever is shown the image knows it. Without the token, nothing goes."""
    upload, other = uploaded(service, events), uploaded(service, events)
    response = delete(events, upload["id"], other["delete_token"] if token == "OTHER" else token)
    assert (response["statusCode"], json.loads(response["body"])["error"]) == (403, "forbidden")
    assert service.status(upload["key"])["state"] == "done" and service.head_output(upload["key"]) is not None


def test_an_upload_made_without_the_api_cannot_be_deleted_through_it(service, events):
    key = f"uploads/{'c' * 32}/direct.png"
    service.put(key, HOPPER)
    handler.lambda_handler(events.s3(service.originals, key), None)
    assert delete(events, "c" * 32, "anything")["statusCode"] == 403


def test_a_failed_upload_can_be_deleted_too(service, events):
    upload = presign(events)
    requests.post(upload["upload"]["url"], data=upload["upload"]["fields"], files={"file": ("p.png", b"not an image", "image/png")}, timeout=30)
    assert handler.lambda_handler(events.s3(service.originals, upload["key"]), None) == {"outcomes": ["failed"]}
    assert delete(events, upload["id"], upload["delete_token"])["statusCode"] == 204
    assert service.processed_keys() == []


def test_delete_after_the_original_was_deleted_by_the_service(service, events, monkeypatch):
    monkeypatch.setenv("DELETE_ORIGINALS", "true")
    upload = uploaded(service, events)
    assert service.s3.list_objects_v2(Bucket=service.originals).get("KeyCount") == 0
    assert delete(events, upload["id"], upload["delete_token"])["statusCode"] == 204
    assert service.processed_keys() == []


def test_delete_of_an_unknown_or_malformed_id(service, events):
    assert answer(events, "DELETE", f"/api/uploads/{'b' * 32}")[1]["error"] == "not-found"
    assert answer(events, "DELETE", "/api/uploads/..%2F..%2Fstatus")[1]["error"] == "invalid-id"
    status, body = answer(events, "PUT", f"/api/uploads/{'b' * 32}")
    assert (status, body["error"]) == (405, "method-not-allowed")


def test_a_result_deleted_is_not_made_again_by_a_late_duplicate_event(service, events):
    upload = uploaded(service, events)
    delete(events, upload["id"], upload["delete_token"])
    assert handler.lambda_handler(events.s3(service.originals, upload["key"]), None) == {"outcomes": ["skipped-gone"]}
    assert service.processed_keys() == []


# --- bodies that used to answer 500 --------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["[" * 50_000 + "]" * 50_000, '{"a":' * 50_000 + "1" + "}" * 50_000, "[" * 50_000])
def test_deeply_nested_json_is_400_not_500(service, events, body):
    status, answered = answer(events, "POST", "/api/uploads", body)
    assert (status, answered["error"]) == (400, "invalid-json")


def test_deep_nesting_in_utf16_is_400_too(service, events):
    body = ("[" * 50_000 + "]" * 50_000).encode("utf-16")
    status, answered = answer(events, "POST", "/api/uploads", body)
    assert (status, answered["error"]) == (400, "invalid-json")


def test_brackets_inside_strings_do_not_count_as_nesting():
    assert not api_requests.json_depth_exceeds(json.dumps({"filename": "[" * 100 + '\\"{' * 50}).encode(), 32)
    assert api_requests.json_depth_exceeds(b"[" * 33, 32) and not api_requests.json_depth_exceeds(b"[" * 32, 32)
