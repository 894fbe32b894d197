"""POST /api/pixelate (synchronous pixelation in the request), routing errors, and the rule that nothing a
client sends is a 500. No AWS is needed for these routes."""
from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from pixelate.service import api
from tests.support.paths import CORPUS, SAMPLES

HOPPER = (CORPUS / "hopper.png").read_bytes()


def call(events, method, path, body=None, query=None):
    return api.lambda_handler(events.http(method, path, body, query=query), None)


def error_of(response):
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])["error"]


@pytest.mark.parametrize("name,content_type", [("hopper.png", "image/png"), ("hopper.jpg", "image/jpeg"), ("hopper.gif", "image/gif")])
def test_pixelates_a_base64_body(events, name, content_type):
    response = call(events, "POST", "/api/pixelate", (CORPUS / name).read_bytes(), query={"size": "8", "method": "nearest"})
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is True
    assert response["headers"]["Content-Type"] == content_type
    image = Image.open(io.BytesIO(base64.b64decode(response["body"])))
    assert image.size == (128, 128)
    assert response["headers"]["X-Image-Width"] == "128"


def test_a_parameter_the_route_does_not_take_is_named_not_ignored(events):
    # pixel_size is the upload request's name for it: it used to be ignored, and the answer made at the default
    response = call(events, "POST", "/api/pixelate", HOPPER, query={"pixel_size": "24"})
    assert error_of(response) == (400, "unknown-parameter")
    assert "did you mean size?" in json.loads(response["body"])["message"]
    assert error_of(call(events, "POST", "/api/detect", HOPPER, query={"faces": "true"})) == (400, "unknown-parameter")
    assert error_of(call(events, "POST", "/api/pixelate", HOPPER, query={"face_blocks": "99"})) == (400, "invalid-face-blocks")
    # ?faces alone is "yes" to some clients and nothing to others: asked to be said (it was taken as false)
    assert error_of(call(events, "POST", "/api/pixelate", HOPPER, query={"faces": ""})) == (400, "invalid-faces")


def test_face_blocks_in_the_query_keep_the_size_asked_for_a_face(events):
    photo = (SAMPLES / "astronaut.png").read_bytes()
    raised = json.loads(call(events, "POST", "/api/pixelate", photo, query={"size": "4", "faces": "true"})["headers"]["X-Pixelated-Regions"])
    kept = json.loads(call(events, "POST", "/api/pixelate", photo, query={"size": "4", "faces": "true", "face_blocks": "0"})["headers"]["X-Pixelated-Regions"])
    assert raised and kept and raised[0]["block"] > 4 and kept[0]["block"] == 4


def test_the_block_size_is_applied(events):
    response = call(events, "POST", "/api/pixelate", HOPPER, query={"size": "32"})
    image = Image.open(io.BytesIO(base64.b64decode(response["body"]))).convert("RGB")
    block = {image.getpixel((x, y)) for x in range(32) for y in range(32)}
    assert len(block) == 1 and len({image.getpixel((0, 0)), image.getpixel((32, 0))}) == 2


def test_regions_in_the_query_pixelate_only_them_and_are_reported(events):
    response = call(events, "POST", "/api/pixelate", HOPPER, query={"size": "16", "regions": "0,0,20,20"})
    assert response["statusCode"] == 200
    assert json.loads(response["headers"]["X-Pixelated-Regions"]) == [
        {"x": 0, "y": 0, "w": 20, "h": 20, "block": 16, "source": "manual"}]
    assert response["headers"]["X-Pixelated-Regions-Total"] == "1"
    image = Image.open(io.BytesIO(base64.b64decode(response["body"]))).convert("RGB")
    original = Image.open(io.BytesIO(HOPPER)).convert("RGB")
    assert len({image.getpixel((x, y)) for x in range(16) for y in range(16)}) == 1
    assert image.crop((20, 0, 128, 128)).tobytes() == original.crop((20, 0, 128, 128)).tobytes()
    assert image.crop((0, 20, 128, 128)).tobytes() == original.crop((0, 20, 128, 128)).tobytes()
    bad = call(events, "POST", "/api/pixelate", HOPPER, query={"regions": "0,0,999"})
    assert error_of(bad) == (400, "invalid-regions")
    outside = call(events, "POST", "/api/pixelate", HOPPER, query={"regions": "500,500,5,5"})
    assert error_of(outside) == (400, "invalid-option")


def test_detect_answers_the_faces_of_the_image_sent(events):

    response = call(events, "POST", "/api/detect", (SAMPLES / "astronaut.png").read_bytes())
    assert response["statusCode"] == 200 and response["headers"]["Content-Type"] == "application/json"
    body = json.loads(response["body"])
    assert (body["width"], body["height"]) == (512, 512)
    (face,) = body["faces"]
    assert face["x"] < 185 and face["x"] + face["w"] > 265 and face["score"] > 0.8
    assert json.loads(call(events, "POST", "/api/detect", (SAMPLES / "chelsea.png").read_bytes())["body"])["faces"] == []
    assert error_of(call(events, "POST", "/api/detect", b"plain text")) == (415, "unsupported-format")
    assert error_of(call(events, "GET", "/api/detect")) == (405, "method-not-allowed")


def test_faces_in_the_query_hide_the_face(events):

    response = call(events, "POST", "/api/pixelate", (SAMPLES / "astronaut.png").read_bytes(), query={"faces": "true"})
    (region,) = json.loads(response["headers"]["X-Pixelated-Regions"])
    assert region["source"] == "face"


def test_a_text_body_is_taken_as_its_bytes(events):
    """A body passed unencoded under a binary type is read as its UTF-8 bytes (and is no image)."""
    event = events.http("POST", "/api/pixelate", "hello, not an image", headers={"content-type": "application/octet-stream"})
    assert error_of(api.lambda_handler(event, None)) == (415, "unsupported-format")


@pytest.mark.parametrize(
    "body,query,expected",
    [
        (None, None, (400, "empty")),
        (b"", None, (400, "empty")),
        (HOPPER, {"size": "1"}, (400, "invalid-pixel-size")),
        (HOPPER, {"size": "abc"}, (400, "invalid-pixel-size")),
        (HOPPER, {"size": "8,16"}, (400, "invalid-pixel-size")),
        (HOPPER, {"method": "blur"}, (400, "invalid-method")),
        ((CORPUS / "hopper.psd").read_bytes(), None, (415, "unsupported-format")),
        ((CORPUS / "broken.png").read_bytes(), None, (422, "corrupt")),
        ((CORPUS / "truncated_jpeg.jpg").read_bytes(), None, (422, "corrupt")),
        ((CORPUS / "decompression_bomb.gif").read_bytes(), None, (413, "too-large")),
        (b"\0" * (api.SYNC_MAX_BYTES + 1), None, (413, "too-large")),
    ],
    ids=["no-body", "empty-body", "size-1", "size-abc", "size-list", "method", "psd", "broken", "truncated", "bomb", "over-limit"],
)
def test_rejections_are_clear_4xx(events, body, query, expected):
    assert error_of(call(events, "POST", "/api/pixelate", body, query=query)) == expected


def test_invalid_base64_is_400(events):
    event = events.http("POST", "/api/pixelate", "not base64 at all!!")
    event["isBase64Encoded"] = True
    assert error_of(api.lambda_handler(event, None)) == (400, "invalid-body")


def test_an_oversized_base64_body_is_refused_before_decoding(events):
    event = events.http("POST", "/api/pixelate", "A" * (api.SYNC_MAX_BYTES * 2))
    event["isBase64Encoded"] = True
    assert error_of(api.lambda_handler(event, None)) == (413, "too-large")


def test_an_output_too_large_for_a_synchronous_reply_is_413(events, monkeypatch):
    monkeypatch.setattr(api, "SYNC_MAX_OUTPUT_BYTES", 100)
    response = call(events, "POST", "/api/pixelate", HOPPER)
    assert error_of(response) == (413, "too-large")
    assert "pixelated image" in json.loads(response["body"])["message"]


# --- routing ---


@pytest.mark.parametrize(
    "method,path,status,code",
    [
        ("GET", "/", 404, "not-found"),
        ("GET", "/api", 404, "not-found"),
        ("POST", "/api/unknown", 404, "not-found"),
        ("GET", "/api/uploads/", 404, "not-found"),
        ("GET", "/api/uploads", 405, "method-not-allowed"),
        ("PUT", "/api/uploads", 405, "method-not-allowed"),
        ("PUT", f"/api/uploads/{'a' * 32}", 405, "method-not-allowed"),
        ("POST", f"/api/uploads/{'a' * 32}", 405, "method-not-allowed"),
        ("GET", "/api/pixelate", 405, "method-not-allowed"),
        ("PATCH", "/api/pixelate", 405, "method-not-allowed"),
    ],
)
def test_unknown_routes_and_wrong_methods(events, method, path, status, code):
    response = call(events, method, path)
    assert error_of(response) == (status, code)
    if status == 405:
        assert response["headers"]["Allow"] in ("GET", "POST", "GET, DELETE")


def test_a_bug_is_a_json_500_without_details(events, monkeypatch):
    """The one 500: our own fault, answered in the same JSON shape with nothing leaked."""

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api, "decode_body", broken)
    response = call(events, "POST", "/api/pixelate", HOPPER)
    assert error_of(response) == (500, "internal")
    assert "secret" not in response["body"]


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.iterdir() if p.suffix != ".md"))
def test_no_corpus_file_gives_a_5xx(events, name):
    response = call(events, "POST", "/api/pixelate", (CORPUS / name).read_bytes(), query={"size": "16"})
    assert response["statusCode"] in (200, 400, 413, 415, 422), response["body"][:200]


def test_a_bad_deployment_setting_is_not_blamed_on_the_client(events, monkeypatch):
    monkeypatch.setenv("DEFAULT_PIXEL_SIZE", "0")
    assert error_of(call(events, "POST", "/api/pixelate", HOPPER)) == (500, "internal")


def test_synchronous_limits_are_tighter_than_the_pipeline(events, monkeypatch):
    from pixelate.image.limits import Limits

    limits = api.sync_limits(Limits())
    assert (limits.max_bytes, limits.max_pixels, limits.max_total_pixels) == (
        api.SYNC_MAX_BYTES, api.SYNC_MAX_PIXELS, api.SYNC_MAX_TOTAL_PIXELS)
    assert api.sync_limits(Limits(max_pixels=1000)).max_pixels == 1000
    assert limits.max_face_looks == 5 and api.sync_limits(Limits(max_face_looks=3)).max_face_looks == 3
    monkeypatch.setattr(api, "SYNC_MAX_PIXELS", 128 * 128 - 1)
    assert error_of(call(events, "POST", "/api/pixelate", HOPPER)) == (413, "too-large")


def test_a_crowd_of_regions_is_cut_to_whole_entries_within_the_header_budget():
    crowd = [{"x": i, "y": 2 * i, "w": 40, "h": 52, "block": 16, "source": "face", "score": 0.913} for i in range(300)]
    headers = api.regions_headers(crowd)
    listed = json.loads(headers["X-Pixelated-Regions"])  # still valid JSON: whole entries only
    assert len(headers["X-Pixelated-Regions"]) <= api.REGIONS_HEADER_BYTES
    assert 50 < len(listed) < 300 and listed == crowd[:len(listed)]  # the first ones, in order
    assert headers["X-Pixelated-Regions-Total"] == "300"
    entry = json.dumps(crowd[0], separators=(",", ":"))
    fitting = (api.REGIONS_HEADER_BYTES - 2 + 1) // (len(entry) + 1)  # n entries take n·len + (n - 1) commas + 2
    exact = [crowd[0]] * fitting
    assert len(json.dumps(exact, separators=(",", ":"))) <= api.REGIONS_HEADER_BYTES
    assert json.loads(api.regions_headers(exact)["X-Pixelated-Regions"]) == exact  # all that fit, none dropped
    few = api.regions_headers(crowd[:3])
    assert json.loads(few["X-Pixelated-Regions"]) == crowd[:3] and few["X-Pixelated-Regions-Total"] == "3"


def test_faces_asked_and_none_found_say_so_in_the_headers(events):
    plain = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 90, 160)).save(plain, "PNG")
    response = call(events, "POST", "/api/pixelate", plain.getvalue(), query={"faces": "true"})
    assert response["statusCode"] == 200
    assert (response["headers"]["X-Pixelated-Regions"], response["headers"]["X-Pixelated-Regions-Total"]) == ("[]", "0")
    whole = call(events, "POST", "/api/pixelate", HOPPER)
    assert "X-Pixelated-Regions" not in whole["headers"]  # a whole image: nothing to list


def test_detect_on_a_reduced_copy_looks_for_the_photos_faces_when_told_its_size(events):

    # six faces ~61 px wide on a 12 MP photo (pixelate_bytes on the photo finds all six): ~19 px on the copy
    head = Image.open(SAMPLES / "astronaut.png").convert("RGB").crop((120, 20, 330, 230)).resize((160, 160))
    photo = Image.open(SAMPLES / "coffee.png").convert("RGB").resize((4032, 3024))
    centres = []
    for x, y in ((300, 400), (1400, 1500), (2600, 700), (3500, 2500), (800, 2200), (2000, 300)):
        photo.paste(head, (x, y))
        centres.append(((x + 85) * 1280 / 4032, (y + 80) * 1280 / 4032))
    copy = io.BytesIO()
    photo.resize((1280, 960), Image.BOX).save(copy, "JPEG", quality=90)  # what the page sends

    def found(query):
        body = json.loads(call(events, "POST", "/api/detect", copy.getvalue(), query=query)["body"])
        assert (body["width"], body["height"]) == (1280, 960)  # boxes in the copy's pixels
        return sum(any(f["x"] <= cx < f["x"] + f["w"] and f["y"] <= cy < f["y"] + f["h"] for f in body["faces"])
                   for cx, cy in centres)
    assert found({"width": "4032", "height": "3024"}) == 6  # the faces an upload of the photo gets
    assert found(None) <= 3  # the copy alone: faces under 30 px of it are not looked for (2 of 6 here)
    bad = call(events, "POST", "/api/detect", copy.getvalue(), query={"width": "4032"})
    assert error_of(bad) == (400, "invalid-dimensions")
    for width in ("0", "-5", "1.5", "٨", "9" * 5000):  # (5000 digits: more than int() reads)
        bad = call(events, "POST", "/api/detect", copy.getvalue(), query={"width": width, "height": "10"})
        assert error_of(bad) == (400, "invalid-dimensions"), width
    assert found({"width": "400000", "height": "300000"}) == 6  # no pixel limit: it only sets the smallest face


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded; charset=utf-8"])
def test_an_image_declared_as_text_is_answered_with_what_to_send(events, content_type):
    """A body declared as text reaches the function as text, its bytes already mangled: curl --data-binary sends a
    form type unless told otherwise, and the answer was 415 "not an image" for a good PNG."""
    mangled = HOPPER.decode("latin-1")
    for path in ("/api/pixelate", "/api/detect"):
        response = api.lambda_handler(events.http("POST", path, mangled, headers={"content-type": content_type}), None)
        assert error_of(response) == (415, "invalid-content-type")
        assert "Content-Type image/" in json.loads(response["body"])["message"]
