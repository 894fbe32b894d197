"""Hostile input is rejected with the right reason, quickly, and without decoding pixels."""
from __future__ import annotations

import io
import os
import struct
import tracemalloc
import zlib

import pytest
from PIL import Image

from pixelate import Limits, PixelateError, pixelate_bytes
from tests.support.paths import CORPUS


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims width×height RGB pixels, with a tiny compressed payload."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def gif_claiming(width: int, height: int) -> bytes:
    """A valid 1×1 GIF whose logical screen claims width×height."""
    buffer = io.BytesIO()
    Image.new("P", (1, 1)).save(buffer, format="GIF")
    data = buffer.getvalue()
    return data[:6] + struct.pack("<HH", width, height) + data[10:]


def truncated_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((800, 600), 60).convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()[: buffer.tell() // 2]


CASES = {
    "30000x30000 PNG header": (lambda: png_header(30_000, 30_000), "too-large"),
    "zero bytes": (lambda: b"", "empty"),
    "random bytes": (lambda: os.urandom(4096), "unsupported-format"),
    "HTML named .gif": (lambda: b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>", "unsupported-format"),
    "truncated JPEG": (truncated_jpeg, "corrupt"),
    "PNG signature then garbage": (lambda: b"\x89PNG\r\n\x1a\n" + os.urandom(200), "corrupt"),
    "GIF claiming 65535x65535": (lambda: gif_claiming(65535, 65535), "too-large"),
    "decompression bomb GIF": (lambda: (CORPUS / "decompression_bomb.gif").read_bytes(), "too-large"),
    "PSD": (lambda: (CORPUS / "hopper.psd").read_bytes(), "unsupported-format"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_input_is_rejected_before_decoding_with_low_memory(case):
    make, reason = CASES[case]
    data = make()
    tracemalloc.start()
    try:
        with pytest.raises(PixelateError) as caught:
            pixelate_bytes(data, 16)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.reason == reason, caught.value.message
    assert caught.value.message
    # Refused before decoding: a decoded 30000² image would take 2.7 GB (memory, not a clock: the machine is shared).
    assert peak < 20 * 1024 * 1024


def test_pixel_limit_is_a_setting():
    data = png_header(2_000, 2_000)
    with pytest.raises(PixelateError) as caught:
        pixelate_bytes(data, 16, limits=Limits(max_pixels=1_000_000))
    assert caught.value.reason == "too-large" and "1 megapixels" in caught.value.message


def test_byte_limit_is_checked_before_anything_else():
    with pytest.raises(PixelateError) as caught:
        pixelate_bytes(b"\xff\xd8\xff" + bytes(2000), 16, limits=Limits(max_bytes=1000))
    assert caught.value.reason == "too-large"


def test_frame_limit():
    data = (CORPUS / "iss634.gif").read_bytes()
    with pytest.raises(PixelateError) as caught:
        pixelate_bytes(data, 16, limits=Limits(max_frames=10))
    assert caught.value.reason == "too-many-frames"


def test_limits_from_environment():
    limits = Limits.from_env({"PIXELATE_MAX_PIXELS": "1234", "PIXELATE_MAX_FRAMES": "7"})
    assert (limits.max_pixels, limits.max_frames, limits.max_bytes) == (1234, 7, Limits().max_bytes)


def test_extension_and_name_are_irrelevant(tmp_path):
    """A JPEG named .gif is a JPEG: the output format follows the bytes."""
    data = (CORPUS / "hopper.jpg").read_bytes()
    result = pixelate_bytes(data, 8)
    assert result.format == "JPEG" and result.content_type == "image/jpeg"
