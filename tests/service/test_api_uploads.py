"""POST /api/uploads and GET /api/uploads/{id} against moto: the presigned POST policy, a real multipart
upload with its fields, the status lookup, and every error path."""
from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
from botocore.exceptions import ClientError

from pixelate.service import api, api_requests, aws, handler
from tests.support.paths import CORPUS

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

HOPPER = (CORPUS / "hopper.png").read_bytes()
MAX_UPLOAD = 1_000_000


@pytest.fixture
def service(pipeline, monkeypatch):
    monkeypatch.setenv("ORIGINALS_BUCKET", pipeline.originals)
    monkeypatch.setenv("MAX_UPLOAD_BYTES", str(MAX_UPLOAD))
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://cdn.example.com/")
    return pipeline


def call(events, method, path, body=None, **kw):
    """Invoke the API handler; returns (status, headers, decoded JSON body)."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    response = api.lambda_handler(events.http(method, path, body, **kw), None)
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], response["headers"], json.loads(response["body"])


def valid_request(**changes):
    return {"filename": "My Holiday Photo.JPG", "content_type": "image/jpeg", "size": 12345, "pixel_size": 16, **changes}


def test_create_upload_answers_a_key_and_a_presigned_post(service, events):
    status, headers, body = call(events, "POST", "/api/uploads", valid_request(method="nearest"))
    assert status == 201
    assert set(body) == {"id", "key", "upload", "delete_token"}
    assert len(body["id"]) == 32 and int(body["id"], 16) >= 0
    assert body["key"] == f"uploads/{body['id']}/My-Holiday-Photo.jpg"
    fields = body["upload"]["fields"]
    assert fields["key"] == body["key"]
    assert fields["Content-Type"] == "image/jpeg"
    assert fields["x-amz-meta-pixel-size"] == "16"
    assert fields["x-amz-meta-method"] == "nearest"
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"  # SigV4, not the SigV2 us-east-1 would default to
    assert {"x-amz-credential", "x-amz-date", "x-amz-signature", "policy"} <= set(fields)
    assert body["upload"]["url"].rstrip("/").endswith(service.originals)


def test_the_signed_policy_enforces_key_size_type_and_options(service, events):
    _, _, body = call(events, "POST", "/api/uploads", valid_request(pixel_size=24, method="average"))
    policy = json.loads(base64.b64decode(body["upload"]["fields"]["policy"]))
    conditions = policy["conditions"]
    assert {"bucket": service.originals} in conditions
    assert {"key": body["key"]} in conditions  # the exact key, not a prefix
    # exactly the declared size (issue 18: 1..MaxUploadBytes let any size through one slot)
    assert ["content-length-range", 12345, 12345] in conditions
    assert not any(isinstance(c, list) and c[0] == "content-length-range" and c[1:] != [12345, 12345] for c in conditions)
    assert {"Content-Type": "image/jpeg"} in conditions  # the declared type, not any image/*
    assert not any(isinstance(c, list) and c[0] == "starts-with" and c[1] == "$Content-Type" for c in conditions)
    assert {"x-amz-meta-pixel-size": "24"} in conditions
    assert {"x-amz-meta-method": "average"} in conditions
    assert not any(isinstance(c, list) and c[0] == "starts-with" and c[1] == "$key" for c in conditions)
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert timedelta(0) < expires - datetime.now(timezone.utc) <= timedelta(seconds=api.UPLOAD_EXPIRY_SECONDS + 5)


def test_regions_and_faces_are_signed_into_the_policy_and_reach_the_status(service, events):
    request = valid_request(content_type="image/png", filename="hopper.png", size=len(HOPPER),
                            regions=[[10, 10, 20, 20], [0.5, 0.5, 0.25, 0.25]], faces=False)
    status, _, body = call(events, "POST", "/api/uploads", request)
    assert status == 201
    fields = body["upload"]["fields"]
    assert fields["x-amz-meta-regions"] == "10,10,20,20;0.5,0.5,0.25,0.25" and "x-amz-meta-faces" not in fields
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert {"x-amz-meta-regions": "10,10,20,20;0.5,0.5,0.25,0.25"} in policy["conditions"]
    with_faces = call(events, "POST", "/api/uploads", valid_request(regions="1,2,3,4", faces=True))[2]
    assert with_faces["upload"]["fields"]["x-amz-meta-faces"] == "true"
    assert {"x-amz-meta-faces": "true"} in json.loads(base64.b64decode(with_faces["upload"]["fields"]["policy"]))["conditions"]
    # a real multipart POST with those fields: the handler reads the same options back from the metadata
    response = requests.post(body["upload"]["url"], data=fields, files={"file": ("hopper.png", HOPPER, "image/png")}, timeout=30)
    assert response.status_code in (200, 201, 204)
    handler.lambda_handler(events.s3(service.originals, body["key"]), None)
    _, _, record = call(events, "GET", f"/api/uploads/{body['id']}")
    assert record["options"]["regions"] == ["10,10,20,20", "0.5,0.5,0.25,0.25"]
    assert [(r["x"], r["y"], r["w"], r["h"]) for r in record["regions"]] == [(10, 10, 20, 20), (64, 64, 32, 32)]


def test_regions_that_would_not_fit_s3_metadata_are_refused_before_signing(service, events):
    many = ";".join(["0.123456789,0.123456789,0.123456789,0.123456789"] * 50)
    status, _, body = call(events, "POST", "/api/uploads", valid_request(regions=many))
    assert (status, body["error"]) == (400, "invalid-regions") and "2048" in body["message"]
    status, _, body = call(events, "POST", "/api/uploads", valid_request(regions=";".join(["1000,1000,200,200"] * 64)))
    assert status == 201 and len(body["upload"]["fields"]["x-amz-meta-regions"]) < 2048


@pytest.mark.parametrize("changes,code", [
    ({"regions": "1,2,3"}, "invalid-regions"), ({"regions": [[1, 2, 0, 4]]}, "invalid-regions"),
    ({"regions": "0.5,10,2,2"}, "invalid-regions"), ({"faces": "perhaps"}, "invalid-faces"),
])
def test_invalid_regions_and_faces_are_400(service, events, changes, code):
    status, _, body = call(events, "POST", "/api/uploads", valid_request(**changes))
    assert (status, body["error"]) == (400, code) and body["message"]


def test_face_blocks_are_signed_and_a_misspelt_field_is_named_not_ignored(service, events):
    status, _, body = call(events, "POST", "/api/uploads", valid_request(faces=True, face_blocks=0))
    fields = body["upload"]["fields"]
    assert status == 201 and fields["x-amz-meta-face-blocks"] == "0"
    assert {"x-amz-meta-face-blocks": "0"} in json.loads(base64.b64decode(fields["policy"]))["conditions"]
    assert "x-amz-meta-face-blocks" not in call(events, "POST", "/api/uploads", valid_request())[2]["upload"]["fields"]
    # (an option given under another door's name used to be ignored: the upload came back at the default)
    status, _, body = call(events, "POST", "/api/uploads", valid_request(**{"pixel-size": 24}))
    assert (status, body["error"]) == (400, "unknown-parameter") and "(did you mean pixel_size?)" in body["message"]
    assert "'pixel-size'" in body["message"]
    status, _, body = call(events, "POST", "/api/uploads", valid_request(filename=5))
    assert body["message"] == "filename must be text, not int"
    # options in the query, not the body: they used to be ignored too
    status, _, body = call(events, "POST", "/api/uploads", valid_request(), query={"pixel_size": "24"})
    assert (status, body["error"]) == (400, "unknown-parameter") and "it takes none" in body["message"]
    # JSON's null is an option not given, for every option alike
    fields = call(events, "POST", "/api/uploads", valid_request(pixel_size=None, method=None))[2]["upload"]["fields"]
    assert fields["x-amz-meta-pixel-size"] == "16" and "x-amz-meta-method" not in fields


def test_a_damaged_status_record_is_not_there_yet_rather_than_a_500(service, events):
    upload_id = "0" * 32
    service.s3.put_object(Bucket=service.processed, Key=f"status/uploads/{upload_id}/cat.png.json", Body=b"{not json")
    status, _, body = call(events, "GET", f"/api/uploads/{upload_id}")
    assert (status, body["error"]) == (404, "not-found")


def test_without_a_method_the_policy_does_not_name_one(service, events):
    _, _, body = call(events, "POST", "/api/uploads", {"filename": "a.png", "content_type": "image/png", "size": 10})
    policy = json.loads(base64.b64decode(body["upload"]["fields"]["policy"]))
    assert "x-amz-meta-method" not in body["upload"]["fields"]
    assert not any(isinstance(c, dict) and "x-amz-meta-method" in c for c in policy["conditions"])
    assert {"x-amz-meta-pixel-size": "16"} in policy["conditions"]  # the default pixel size


def test_a_real_multipart_post_lands_with_its_metadata(service, events):
    """What a browser does with the answer: a multipart POST of the fields, then the file, to the URL."""
    _, _, body = call(events, "POST", "/api/uploads", valid_request(filename="hopper.png", content_type="image/png", size=len(HOPPER), pixel_size=8, method="nearest"))
    upload = body["upload"]
    response = requests.post(upload["url"], data=upload["fields"], files={"file": ("hopper.png", HOPPER, "image/png")}, timeout=30)
    assert response.status_code in (200, 201, 204), response.text
    head = service.s3.head_object(Bucket=service.originals, Key=body["key"])
    assert head["ContentLength"] == len(HOPPER)
    assert head["ContentType"] == "image/png"
    assert head["Metadata"] == {"pixel-size": "8", "method": "nearest", "delete-key": upload["fields"]["x-amz-meta-delete-key"]}

    # Before processing there is no status; after it, the record and the image's public URL.
    status, _, pending = call(events, "GET", f"/api/uploads/{body['id']}")
    assert (status, pending["error"]) == (404, "not-found")
    assert handler.lambda_handler(events.s3(service.originals, body["key"]), None) == {"outcomes": ["done"]}
    status, headers, record = call(events, "GET", f"/api/uploads/{body['id']}")
    assert status == 200
    assert record["state"] == "done"
    assert record["options"] == {"pixel_size": 8, "method": "nearest", "regions": [], "faces": False}
    assert record["image_url"] == f"https://cdn.example.com/pixelated/uploads/{body['id']}/hopper.png"
    assert headers["Cache-Control"] == "no-store"
    stored = service.status(body["key"])
    assert {k: v for k, v in record.items() if k != "image_url"} == stored


def test_a_failed_upload_has_its_reason_and_no_image_url(service, events):
    _, _, body = call(events, "POST", "/api/uploads", valid_request(filename="x.png"))
    service.put(body["key"], b"not really a png")
    handler.lambda_handler(events.s3(service.originals, body["key"]), None)
    status, _, record = call(events, "GET", f"/api/uploads/{body['id']}")
    assert status == 200
    assert (record["state"], record["reason"]) == ("failed", "unsupported-format")
    assert "image_url" not in record


def test_image_urls_quote_the_key(service, events, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "")
    upload_id = "0" * 32
    key = f"uploads/{upload_id}/a b+c%.png"
    service.put(key, HOPPER)
    handler.lambda_handler(events.s3(service.originals, key), None)
    _, _, record = call(events, "GET", f"/api/uploads/{upload_id}")
    assert record["image_url"] == f"/pixelated/uploads/{upload_id}/a%20b%2Bc%25.png"


@pytest.mark.parametrize(
    "filename,safe",
    [
        ("photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\Pictures\\cat.PNG", "cat.png"),
        ("café crème.webp", "cafe-creme.webp"),
        ("日本.png", "image.png"),
        ("..", "image"),
        (".hidden.gif", "hidden.gif"),
        ("a" * 250 + ".jpeg", "a" * 95 + ".jpeg"),
        ("weird$&name?.jp g", "weird-name.jpg"),
        ("no-extension", "no-extension"),
    ],
)
def test_safe_filenames(filename, safe):
    assert api_requests.safe_filename(filename) == safe


BAD_UPLOADS = [
    ("no filename", {"content_type": "image/png", "size": 1}, "invalid-filename"),
    ("empty filename", valid_request(filename="  "), "invalid-filename"),
    ("filename not a string", valid_request(filename=["a.png"]), "invalid-filename"),
    ("control characters", valid_request(filename="a\nb.png"), "invalid-filename"),
    ("filename too long", valid_request(filename="a" * 300 + ".png"), "invalid-filename"),
    ("no content type", {"filename": "a.png", "size": 1}, "invalid-content-type"),
    ("not an image type", valid_request(content_type="text/html"), "invalid-content-type"),
    ("image prefix only", valid_request(content_type="image/"), "invalid-content-type"),
    ("no size", {"filename": "a.png", "content_type": "image/png"}, "invalid-size"),
    ("size zero", valid_request(size=0), "invalid-size"),
    ("negative size", valid_request(size=-5), "invalid-size"),
    ("size too large", valid_request(size=MAX_UPLOAD + 1), "invalid-size"),
    ("size as a string", valid_request(size="100"), "invalid-size"),
    ("size as a boolean", valid_request(size=True), "invalid-size"),
    ("size as a float", valid_request(size=10.5), "invalid-size"),
    ("pixel size too small", valid_request(pixel_size=1), "invalid-pixel-size"),
    ("pixel size too large", valid_request(pixel_size=513), "invalid-pixel-size"),
    ("pixel size not a number", valid_request(pixel_size="big"), "invalid-pixel-size"),
    ("pixel size fraction", valid_request(pixel_size=16.5), "invalid-pixel-size"),
    ("unknown method", valid_request(method="blur"), "invalid-method"),
    ("face blocks too many", valid_request(face_blocks=65), "invalid-face-blocks"),
    ("face blocks a word", valid_request(face_blocks="many"), "invalid-face-blocks"),
    ("a field no door knows", valid_request(pixelsize=24), "unknown-parameter"),
    ("regions as an object", valid_request(regions={"x": 1, "y": 2, "w": 3, "h": 4}), "invalid-regions"),
]


@pytest.mark.parametrize("case,request_body,code", BAD_UPLOADS, ids=[c[0] for c in BAD_UPLOADS])
def test_bad_upload_requests_are_400(service, events, case, request_body, code):
    status, _, body = call(events, "POST", "/api/uploads", request_body)
    assert status == 400
    assert body["error"] == code and body["message"]


def test_a_base64_encoded_json_body_is_read(service, events):
    status, _, body = call(events, "POST", "/api/uploads", json.dumps(valid_request()).encode())
    assert status == 201 and body["key"].endswith("/My-Holiday-Photo.jpg")


@pytest.mark.parametrize("raw", [None, "", "{not json", "[1, 2]", '"a string"', "null", b"\xff\xfe\x00garbage"])
def test_malformed_json_is_400(service, events, raw):
    status, _, body = call(events, "POST", "/api/uploads", raw)
    assert (status, body["error"]) == (400, "invalid-json")


@pytest.mark.parametrize("upload_id", ["abc", "0" * 31, "A" * 32, "g" * 32, "0" * 33, "..%2F..%2Fx"])
def test_malformed_upload_ids_are_400(service, events, upload_id):
    status, _, body = call(events, "GET", f"/api/uploads/{upload_id}")
    assert (status, body["error"]) == (400, "invalid-id")


def test_unknown_upload_is_404(service, events):
    status, _, body = call(events, "GET", f"/api/uploads/{'f' * 32}")
    assert (status, body["error"]) == (404, "not-found")


def test_storage_failure_is_503_not_500(service, events):
    def unavailable(params, **_):
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "ListObjectsV2")

    aws.s3_client().meta.events.register("before-parameter-build.s3.ListObjectsV2", unavailable)
    try:
        status, headers, body = call(events, "GET", f"/api/uploads/{'a' * 32}")
    finally:
        aws.s3_client().meta.events.unregister("before-parameter-build.s3.ListObjectsV2", unavailable)
    assert (status, body["error"]) == (503, "unavailable")
    assert headers["Retry-After"] == "1"
