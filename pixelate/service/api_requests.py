"""What a request to the API asks, parsed and checked: its JSON body, its file name, type and size, its options
and its query parameters. Pure: nothing here touches AWS or the image (``api`` routes, processes and answers).

Every door takes the same options under the names it has always given them (``size`` is the pixel size in a
query, ``pixel_size`` in the upload request, whose ``size`` is the file's bytes), and a name a route does not
know is refused, ``unknown-parameter``, naming the ones it takes: a misspelt option that was ignored gave a
result made with the default, with nothing to say so.
"""
from __future__ import annotations

import dataclasses
import json
import re
import unicodedata
from collections.abc import Iterable

from pixelate.image.errors import PixelateError
from pixelate.image.options import (Options, Region, parse_face_blocks, parse_flag, parse_method, parse_pixel_size,
                                    parse_regions)

#: Declared types a presigned upload may carry: raster formats the service decodes. Not ``image/svg+xml``
#: (script in an image), nor any other ``image/*`` type. The bytes are sniffed anyway; the type is what S3 stores.
UPLOAD_CONTENT_TYPES = frozenset({
    "image/jpeg", "image/png", "image/apng", "image/gif", "image/webp", "image/tiff", "image/bmp", "image/x-ms-bmp",
    "image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence", "image/avif", "image/mpo",
})
#: Deepest JSON nesting a request body may have: the upload request is a flat object.
MAX_JSON_DEPTH = 32
MAX_FILENAME_CHARS = 255
#: Safe names: ASCII letters, digits, dot, dash, underscore; at most this long (the extension included).
SAFE_NAME_CHARS = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: What each route takes: the upload request's fields, and the query parameters of the synchronous routes
UPLOAD_FIELDS = ("filename", "content_type", "size", "pixel_size", "method", "regions", "faces", "face_blocks")
PIXELATE_PARAMETERS = ("size", "method", "regions", "faces", "face_blocks")
DETECT_PARAMETERS = ("width", "height")
#: other names a client may well try for a field (other doors' spellings among them)
_MEANT = {"pixel_size": ("pixel-size", "pixelsize", "block", "block_size"), "face_blocks": ("face-blocks", "faceblocks"),
          "regions": ("region", "areas"), "faces": ("face",), "content_type": ("contenttype", "content-type", "type"),
          "filename": ("name", "file_name", "file")}
#: a query's name for an upload field: the pixel size is ``size`` there (the upload request's is the file's bytes)
_IN_A_QUERY = {"pixel_size": "size"}


class ApiError(Exception):
    """A request the API answers with a 4xx: an HTTP status, a stable code and a human message."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = int(status), code, message, headers or {}


def check_known(given: Iterable[str], known: tuple[str, ...], what: str) -> None:
    """Refuse the first name in ``given`` that is not in ``known``: ``unknown-parameter``, naming what was likely
    meant and every name the route takes."""
    for name in given:
        if name not in known:
            text = str(name).lower()
            option = next((option for option, names in _MEANT.items() if text == option or text in names), None)
            meant = option if option in known else _IN_A_QUERY.get(option)
            hint = f" (did you mean {meant}?)" if meant in known else ""
            raise ApiError(400, "unknown-parameter", f"{what} {str(name)[:40]!r} is not one this route takes{hint}; "
                           f"it takes {', '.join(known) or 'none'}")


def parse_json_object(body: bytes) -> dict:
    if not body:
        raise ApiError(400, "invalid-json", "the request body must be a JSON object")
    if json_depth_exceeds(body, MAX_JSON_DEPTH):  # json.loads recurses: 50,000 "[" would be a RecursionError
        raise ApiError(400, "invalid-json", f"the request body is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(body)  # bytes: json detects UTF-8/16/32; undecodable bytes are a ValueError too
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid-json", "the request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise ApiError(400, "invalid-json", "the request body must be a JSON object")
    return value


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than ``limit`` (a linear scan, no recursion).

    Only ASCII-compatible encodings are scanned; a UTF-16/32 body is left to ``json.loads``, whose
    ``RecursionError`` is caught too.
    """
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def safe_filename(name: object) -> str:
    """A file name safe as the last part of an S3 key and a URL: the base name only, ASCII letters, digits,
    ``.``, ``-`` and ``_``, the extension kept. Raises ``ApiError`` for a missing or insane name."""
    if name is not None and not isinstance(name, str):
        raise ApiError(400, "invalid-filename", f"filename must be text, not {type(name).__name__}")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "invalid-filename", "filename is required")
    if len(name) > MAX_FILENAME_CHARS or any(unicodedata.category(c) == "Cc" for c in name):
        raise ApiError(400, "invalid-filename", f"filename must be at most {MAX_FILENAME_CHARS} printable characters")
    base = re.split(r"[/\\]", name.strip())[-1]
    ascii_base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    stem, dot, extension = ascii_base.rpartition(".")
    if not dot:
        stem, extension = ascii_base, ""
    stem = _UNSAFE.sub("-", stem).strip(".-_") or "image"
    extension = _UNSAFE.sub("", extension).lower()[:10]
    stem = stem[: SAFE_NAME_CHARS - len(extension) - 1]
    return f"{stem}.{extension}" if extension else stem


def parse_content_type(value: object) -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    if text not in UPLOAD_CONTENT_TYPES:
        raise ApiError(400, "invalid-content-type", "content_type must be a raster image type such as image/jpeg or image/png")
    return text


def parse_size(value: object, max_bytes: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= max_bytes:
        raise ApiError(400, "invalid-size", f"size must be an integer number of bytes from 1 to {max_bytes}")
    return value


def parse_option(parse, value, code: str):
    try:
        return parse(value)
    except PixelateError as error:
        raise ApiError(400, code, error.message) from None


@dataclasses.dataclass(frozen=True)
class UploadRequest:
    filename: str
    content_type: str
    size: int
    pixel_size: int
    method: str | None
    regions: tuple[Region, ...] = ()
    faces: bool = False
    face_blocks: int | None = None  # None: not given (the function's default, and no metadata for it)


def parse_upload_request(body: dict, default_pixel_size: int, max_upload_bytes: int) -> UploadRequest:
    """The upload request's fields; an option given as JSON's null is not given, as if left out."""
    check_known(body, UPLOAD_FIELDS, "field")
    method, face_blocks, pixel_size = body.get("method"), body.get("face_blocks"), body.get("pixel_size")
    return UploadRequest(
        filename=safe_filename(body.get("filename")),
        content_type=parse_content_type(body.get("content_type")),
        size=parse_size(body.get("size"), max_upload_bytes),
        pixel_size=parse_option(parse_pixel_size, default_pixel_size if pixel_size is None else pixel_size,
                                "invalid-pixel-size"),
        method=None if method is None else parse_option(parse_method, method, "invalid-method"),
        regions=parse_option(parse_regions, body.get("regions"), "invalid-regions"),
        faces=parse_option(parse_flag, body.get("faces", False), "invalid-faces"),
        face_blocks=None if face_blocks is None else parse_option(parse_face_blocks, face_blocks, "invalid-face-blocks"),
    )


def photo_size(query: dict) -> tuple[int, int] | None:
    """``width`` and ``height`` from the query (both or neither): whole numbers of pixels, 1 to 999,999,999. No
    pixel limit applies: the size only sets the smallest face looked for, which never goes under 1.5 % of the
    copy's own long side, however large the photo is said to be."""
    check_known(query, DETECT_PARAMETERS, "query parameter")
    width, height = query.get("width"), query.get("height")
    if width is None and height is None:
        return None
    sides = []
    for name, text in (("width", width), ("height", height)):
        if text is None or not (text.isascii() and text.isdigit() and len(text) <= 9) or int(text) == 0:
            raise ApiError(400, "invalid-dimensions", f"{name} must be a whole number of pixels from 1, given with the other")
        sides.append(int(text))
    return sides[0], sides[1]


def query_options(query: dict, defaults: Options) -> Options:
    """The options of ``POST /api/pixelate`` from its query (``size``, ``method``, ``regions``, ``faces``,
    ``face_blocks``), each missing one the function's default, each invalid one its own error code."""
    check_known(query, PIXELATE_PARAMETERS, "query parameter")
    return Options(
        pixel_size=parse_option(parse_pixel_size, query.get("size", defaults.pixel_size), "invalid-pixel-size"),
        method=parse_option(parse_method, query.get("method", defaults.method), "invalid-method"),
        regions=parse_option(parse_regions, query.get("regions"), "invalid-regions"),
        faces=parse_option(query_flag, query.get("faces", "false"), "invalid-faces"),
        face_blocks=parse_option(parse_face_blocks, query.get("face_blocks", defaults.face_blocks), "invalid-face-blocks"),
    )


def query_flag(value: str) -> bool:
    """A flag in a query: ``true`` or ``false`` (and the other spellings ``parse_flag`` takes), but not empty.
    ``?faces`` alone reads as "yes" to some and as nothing to others: it is asked to be said."""
    if not str(value).strip():
        raise PixelateError("invalid-option", "faces needs a value in a query: faces=true or faces=false.")
    return parse_flag(value)
