"""The API Lambda's entry: ``pixelate.service.api.lambda_handler`` (API Gateway HTTP API, payload format 2.0).

Routes:

- ``POST /api/uploads`` ``{filename, content_type, size, pixel_size?, method?, regions?, faces?, face_blocks?}`` → 201
  ``{id, key, upload: {url, fields}}``: a presigned POST to the originals bucket whose signed policy pins the
  key, the size (exactly the declared ``size``, at most ``MAX_UPLOAD_BYTES``), the ``Content-Type`` (one of the
  raster types the service decodes: ``api_requests.UPLOAD_CONTENT_TYPES``), the options metadata (``x-amz-meta-pixel-size``,
  ``-method``, ``-regions`` as ``x,y,w,h;…``, ``-faces``, ``-face-blocks``), and an expiry of ``UPLOAD_EXPIRY_SECONDS``. S3
  enforces the policy on AWS (moto does not: there the handler's own checks stand). The key is an upload slot:
  the processing function keeps its first result only.
- ``GET /api/uploads/{id}`` → 200 with the status record (without the bucket's name), plus ``image_url``
  when done; 404 until the processing function has written a status.
- ``DELETE /api/uploads/{id}`` with the header ``X-Delete-Token: <delete_token>`` (answered once, by ``POST``)
  → 204 once the result, its status record and the original (if still there) are deleted; 403 without the
  right token (the id is in the image's URL, so it proves nothing: see ``uploads``); 404 when there is no
  status (yet).
- ``POST /api/pixelate?size=&method=&regions=&faces=&face_blocks=`` with the image as the body → 200 with the pixelated
  image (base64, as API Gateway returns binary bodies; ``X-Pixelated-Regions`` lists the boxes pixelated when
  regions or faces were asked, as many as fit in 8 KB, and ``X-Pixelated-Regions-Total`` how many there are). Input and output are limited to ``SYNC_MAX_BYTES`` (4 MiB): base64 makes
  4 MiB into 5.3 MB, inside Lambda's 6 MB synchronous payload limit both ways.
- ``POST /api/detect`` with an image as the body → 200 ``{width, height, faces: [{x, y, w, h, score}]}``: the
  faces found in its first frame, upright (the page sends a reduced copy and scales the boxes back).

Requests are parsed and checked in ``api_requests`` (a field or parameter a route does not take is a 400
``unknown-parameter``). Every error is JSON ``{"error": code, "message": text}``: 400 for a malformed request, 404 for an unknown
route or an upload with no status yet, 405 for a known route with another method, 413 for a body too large,
415 for an unsupported image format, 422 for an image that cannot be processed, 503 when S3 fails. Nothing a
client sends gives a 500.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import os
import re
import uuid
from http import HTTPStatus
from urllib.parse import quote

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import Logger
from botocore.exceptions import BotoCoreError, ClientError

from pixelate.image.errors import PixelateError
from pixelate.image.limits import Limits
from pixelate.image.options import regions_text
from pixelate.service import aws, status, store, uploads
from pixelate.service.api_requests import (ApiError, UploadRequest, check_known, parse_json_object, parse_upload_request,
                                           photo_size, query_options)
from pixelate.service.config import ApiConfig

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or "pixelator")
app = APIGatewayHttpResolver()

#: Largest image ``POST /api/pixelate`` takes or returns (see the module docstring for the arithmetic).
SYNC_MAX_BYTES = 4 * 1024 * 1024
#: Most pixels it decodes in a request (per frame, and over all frames): the API function has 1024 MB (2 × 16 MP
#: frames peak at ~600 MB) and API Gateway waits 10 s; a 12 MP phone photo fits, a 50 MP scan goes through
#: POST /api/uploads.
SYNC_MAX_PIXELS = 16_000_000
SYNC_MAX_TOTAL_PIXELS = 32_000_000
#: An animation's faces in a request: 4 frames spread over it and its last, and at most twice as many where its
#: content changes between them (``image.face_track``): 15 looks at most. A 1280×720 frame takes ~0.2 s to look at
#: here, twice that on the api function's 1024 MB, and the function has 10 s: 66 frames of 800×600 (its 32 MP)
#: with a moving cursor took 5.1 s of CPU here with the 13 spread looks it had before looks for changes, 12.8 s
#: with 13 and their 26, and 5.7 s with these 5 and 10 (1.4 s without faces).
SYNC_MAX_FACE_LOOKS = 5
#: Largest pixelated image it answers with: the same arithmetic (pixelated output is rarely larger than its input).
SYNC_MAX_OUTPUT_BYTES = SYNC_MAX_BYTES
#: How long a presigned upload stays valid. The page posts the moment it has the answer, and S3 checks the
#: expiry when the POST starts (a slow upload under way is not cut off), so a minute is ample for a slow phone
#: to start; it is also how long a leaked form could be replayed (the slot keeps its first result anyway).
UPLOAD_EXPIRY_SECONDS = 60
UPLOAD_PREFIX = status.UPLOAD_PREFIX
#: S3's limit on an object's user metadata: the UTF-8 bytes of every key and value together (counted here with the
#: x-amz-meta- prefix, to stay on the safe side)
S3_METADATA_BYTES = 2048
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")

#: Known routes and their methods: a known path with another method is a 405, not a 404.
ROUTES: dict[re.Pattern, tuple[str, ...]] = {
    re.compile(r"/api/uploads"): ("POST",),
    re.compile(r"/api/uploads/[^/]+"): ("GET", "DELETE"),
    re.compile(r"/api/pixelate"): ("POST",),
    re.compile(r"/api/detect"): ("POST",),
}

#: HTTP status of each core rejection reason.
REJECTION_STATUS = {
    "unsupported-format": HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    "corrupt": HTTPStatus.UNPROCESSABLE_ENTITY,
    "too-many-frames": HTTPStatus.UNPROCESSABLE_ENTITY,
    "too-large": HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    "empty": HTTPStatus.BAD_REQUEST,
    "invalid-option": HTTPStatus.BAD_REQUEST,
}


def upload_fields_and_conditions(request: UploadRequest, max_bytes: int) -> tuple[dict, list]:
    """The form fields and the policy conditions of a presigned upload: the size is pinned to the declared one
    (``parse_size`` kept it within ``max_bytes``), the content type to the declared one, and every option is an
    exact-match field of the signed policy, so the upload cannot change them. boto3 adds the bucket and the
    exact key to the conditions itself."""
    fields = {"Content-Type": request.content_type, "x-amz-meta-pixel-size": str(request.pixel_size)}
    if request.method:
        fields["x-amz-meta-method"] = request.method
    if request.regions:
        fields["x-amz-meta-regions"] = regions_text(request.regions)
    if request.faces:
        fields["x-amz-meta-faces"] = "true"
    if request.face_blocks is not None:
        fields["x-amz-meta-face-blocks"] = str(request.face_blocks)
    size = min(request.size, max_bytes)
    conditions: list = [
        ["content-length-range", size, size],
        {"Content-Type": request.content_type},
        *({name: value} for name, value in fields.items() if name.startswith("x-amz-meta-")),
    ]
    return fields, conditions


def check_metadata_size(fields: dict[str, str]) -> None:
    """Refuse an upload whose metadata S3 would refuse itself (MetadataTooLarge), after the person chose a file."""
    metadata = {name: value for name, value in fields.items() if name.startswith("x-amz-meta-")}
    if sum(len(name.encode()) + len(value.encode()) for name, value in metadata.items()) > S3_METADATA_BYTES:
        raise ApiError(400, "invalid-regions", f"the regions do not fit S3's {S3_METADATA_BYTES} bytes of object "
                       "metadata: send fewer, or in whole pixels (shorter than fractions)")


def image_url(config: ApiConfig, source_key: str) -> str:
    return f"{config.public_base_url}/{quote(status.output_key(source_key), safe='/')}"


def decode_body(event_body: str | None, is_base64: bool) -> bytes:
    if not event_body:
        return b""
    if not is_base64:
        return event_body.encode("utf-8", "surrogateescape")
    try:
        return base64.b64decode(event_body, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "invalid-body", "the body is marked base64 but is not valid base64") from None


# --- routes -------------------------------------------------------------------------------------------------


@app.post("/api/uploads")
def create_upload() -> Response:
    config = ApiConfig.from_env()
    event = app.current_event
    # API Gateway may deliver any body base64-encoded, depending on its content type.
    check_known(event.query_string_parameters or {}, (), "query parameter")  # (the options go in the body)
    body = parse_json_object(decode_body(event.body, event.is_base64_encoded))
    request = parse_upload_request(body, config.defaults.pixel_size, config.max_upload_bytes)
    upload_id = uuid.uuid4().hex
    key = f"{UPLOAD_PREFIX}{upload_id}/{request.filename}"
    fields, conditions = upload_fields_and_conditions(request, config.max_upload_bytes)
    delete_token, delete_key = uploads.new_delete_token()
    fields[f"x-amz-meta-{uploads.DELETE_KEY_METADATA}"] = delete_key
    conditions.append({f"x-amz-meta-{uploads.DELETE_KEY_METADATA}": delete_key})
    check_metadata_size(fields)
    upload = aws.s3_presign_client().generate_presigned_post(
        Bucket=config.originals_bucket,
        Key=key,
        Fields=fields,
        Conditions=conditions,
        ExpiresIn=UPLOAD_EXPIRY_SECONDS,
    )
    logger.info("upload presigned", extra={"upload_id": upload_id, "key": key, "size": request.size})
    return json_response(201, {"id": upload_id, "key": key, "delete_token": delete_token,
                               "upload": {"url": upload["url"], "fields": upload["fields"]}})


@app.get("/api/uploads/<upload_id>")
def get_upload(upload_id: str) -> Response:
    if not _UPLOAD_ID.fullmatch(upload_id):
        raise ApiError(400, "invalid-id", "an upload id is 32 lowercase hexadecimal characters")
    config = ApiConfig.from_env()
    record = store.latest_status(config.processed_bucket, status.status_prefix(f"{UPLOAD_PREFIX}{upload_id}/"))
    if record is None:
        raise ApiError(404, "not-found", "no status for this upload yet: it is not uploaded or still processing")
    if record.get("state") == status.DONE and isinstance(record.get("source"), dict):
        record["image_url"] = image_url(config, record["source"]["key"])
    return json_response(200, public_record(record), cache="no-store")


def public_record(record: dict) -> dict:
    """The status record as the API answers it: its source's key and version only. A record written before
    versions (until 2026-12-07) also names the bucket (its name carries the account id) and the original's ETag
    (a single-part upload's MD5): neither is answered."""
    source = record.get("source")
    if isinstance(source, dict):
        record = {**record, "source": {k: v for k, v in source.items() if k in ("key", "version")}}
    return record


@app.delete("/api/uploads/<upload_id>")
def delete_upload(upload_id: str) -> Response:
    if not _UPLOAD_ID.fullmatch(upload_id):
        raise ApiError(400, "invalid-id", "an upload id is 32 lowercase hexadecimal characters")
    config = ApiConfig.from_env()
    token = (app.current_event.headers or {}).get(uploads.DELETE_TOKEN_HEADER)
    try:
        deleted = uploads.delete_upload(config.originals_bucket, config.processed_bucket, f"{UPLOAD_PREFIX}{upload_id}/", token)
    except uploads.NotAllowed:
        raise ApiError(403, "forbidden", "send the delete_token POST /api/uploads answered, in the X-Delete-Token header") from None
    if not deleted:
        raise ApiError(404, "not-found", "no result for this upload: it is not uploaded, still processing, or already deleted")
    logger.info("upload deleted", extra={"upload_id": upload_id, "objects": len(deleted)})
    return Response(status_code=204, body="", headers={"Cache-Control": "no-store"})


@app.post("/api/pixelate")
def pixelate_now() -> Response:
    from pixelate.image.pipeline import pixelate_bytes

    event = app.current_event
    query = event.query_string_parameters or {}
    options = query_options(query, ApiConfig.from_env().defaults)
    data = request_image()
    result = pixelate_bytes(data, options=options, limits=sync_limits(Limits.from_env()))
    if len(result.data) > SYNC_MAX_OUTPUT_BYTES:
        raise ApiError(413, "too-large", f"the pixelated image is larger than the synchronous limit of {SYNC_MAX_OUTPUT_BYTES} bytes: use POST /api/uploads")
    headers = {"Cache-Control": "no-store", "X-Image-Width": str(result.width), "X-Image-Height": str(result.height)}
    if options.regions or options.faces:  # (faces asked and none found: an empty list, a total of 0)
        headers.update(regions_headers(result.regions))
    return Response(
        status_code=200,
        content_type=result.content_type,
        body=result.data,  # bytes: Powertools answers them base64-encoded with isBase64Encoded
        headers=headers,
    )


@app.post("/api/detect")
def detect_faces() -> Response:
    """The faces in the image sent (its first frame, upright): ``{width, height, faces: [{x, y, w, h, score}]}``.
    The page sends a reduced copy, with ``?width=&height=`` its photo's upright size (the faces to look for are
    the photo's: ``faces.detector.min_face_size``), and scales the boxes back to its photo."""
    from pixelate.image.pipeline import find_faces

    stands_for = photo_size(app.current_event.query_string_parameters or {})
    found = find_faces(request_image(), sync_limits(Limits.from_env()), stands_for)
    return json_response(200, {"width": found.width, "height": found.height, "faces": found.faces})


def request_image() -> bytes:
    """The image in the request's body, within the synchronous limit (before and after base64)."""
    event = app.current_event
    if event.body and len(event.body) > SYNC_MAX_BYTES * 4 // 3 + 4:
        raise too_large("the image is larger than the synchronous limit")
    declared = (event.headers or {}).get("content-type", "").split(";")[0].strip().lower()
    if event.body and not event.is_base64_encoded and is_text(declared):  # (an image's bytes do not survive text)
        raise ApiError(415, "invalid-content-type", f"send the image as binary, with Content-Type image/… or "
                       f"application/octet-stream, not {declared} (with curl: -H 'Content-Type: image/jpeg')")
    data = decode_body(event.body, event.is_base64_encoded)
    if not data:
        raise ApiError(400, "empty", "send the image as the request body")
    if len(data) > SYNC_MAX_BYTES:
        raise too_large("the image is larger than the synchronous limit")
    return data


def is_text(content_type: str) -> bool:
    """Whether API Gateway hands a request body of this type to a function as text rather than base64 (the local
    edge does the same): text/…, JSON, XML, JavaScript, forms (curl's --data-binary default among them)."""
    return content_type.lower().startswith(("text/", "application/json", "application/x-www-form-urlencoded",
                                            "application/xml", "application/javascript", "multipart/form-data"))


#: The most bytes of regions a response header carries: CDNs and proxies refuse a response whose headers run much
#: past 8 KB, and a crowd photo (or an animation's faces, frame by frame) can list hundreds of boxes.
REGIONS_HEADER_BYTES = 8000


def regions_headers(regions) -> dict[str, str]:
    """What was pixelated, for a client that shows it: ``X-Pixelated-Regions``, a compact JSON list of as many
    whole entries as fit in ``REGIONS_HEADER_BYTES`` (in order: the regions asked, then the faces), and
    ``X-Pixelated-Regions-Total``, how many there are (more than listed: the list was cut)."""
    entries, size = [], 2  # the brackets
    for region in regions:
        entry = json.dumps(region, separators=(",", ":"))
        needed = len(entry) + (1 if entries else 0)  # a comma before every entry but the first
        if size + needed > REGIONS_HEADER_BYTES:
            break
        entries.append(entry)
        size += needed
    return {"X-Pixelated-Regions": f"[{','.join(entries)}]", "X-Pixelated-Regions-Total": str(len(regions))}


def sync_limits(limits: Limits) -> Limits:
    """The core's limits from the environment, tightened to what a synchronous request can afford."""
    return dataclasses.replace(
        limits,
        max_bytes=min(limits.max_bytes, SYNC_MAX_BYTES),
        max_pixels=min(limits.max_pixels, SYNC_MAX_PIXELS),
        max_total_pixels=min(limits.max_total_pixels, SYNC_MAX_TOTAL_PIXELS),
        max_face_looks=min(limits.max_face_looks, SYNC_MAX_FACE_LOOKS),
    )


def too_large(what: str) -> ApiError:
    return ApiError(413, "too-large", f"{what} of {SYNC_MAX_BYTES} bytes: use POST /api/uploads for larger images")


# --- responses and errors -----------------------------------------------------------------------------------


def json_response(status: int, body: dict, headers: dict | None = None, cache: str = "no-store") -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, ensure_ascii=False),
        headers={"Cache-Control": cache, **(headers or {})},
    )


def error_response(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    return json_response(status, {"error": code, "message": message}, headers)


@app.exception_handler(ApiError)
def on_api_error(error: ApiError) -> Response:
    return error_response(error.status, error.code, error.message, error.headers)


@app.exception_handler(PixelateError)
def on_rejection(error: PixelateError) -> Response:
    return error_response(REJECTION_STATUS.get(error.reason, 422), error.reason, error.message)


@app.exception_handler([ClientError, BotoCoreError])
def on_aws_error(error: Exception) -> Response:
    logger.exception("AWS call failed")
    return error_response(503, "unavailable", "storage is unavailable; try again shortly", {"Retry-After": "1"})


@app.exception_handler(NotFoundError)
def on_no_route(_: NotFoundError) -> Response:
    method = app.current_event.http_method.upper()
    path = app.current_event.path
    for pattern, methods in ROUTES.items():
        if pattern.fullmatch(path):
            allowed = ", ".join(methods)
            return error_response(405, "method-not-allowed", f"{method} is not allowed on {path}; use {allowed}", {"Allow": allowed})
    return error_response(404, "not-found", f"no route for {method} {path}")


@app.exception_handler(Exception)
def on_bug(error: Exception) -> Response:
    # Our fault, not the client's: logged with its traceback, answered without details.
    logger.exception("unhandled error")
    return error_response(500, "internal", "internal error")


def lambda_handler(event: dict, context=None) -> dict:
    return app.resolve(event, context)
