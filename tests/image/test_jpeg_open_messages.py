"""A JPEG that cannot be opened is told why in words: not a KeyError of Pillow's, and a 12-bit JPEG as such.

Pillow was asked to try the JPEG and "MPO" openers; MPO has none of its own (the JPEG opener returns MPO files),
so every JPEG the JPEG opener turned down ended in KeyError('MPO'): "The JPEG file is damaged and cannot be
read ('MPO')." A valid 12-bit JPEG got the same message.
"""
from __future__ import annotations

import struct

import pytest

from pixelate import PixelateError, pixelate_bytes
from tests.support.paths import CORPUS
from tests.support.refusals import refused_before_decoding


def segment(marker: int, body: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body


def grey_jpeg(precision: int, frame_marker: int = 0xC1) -> bytes:
    """A 64×64 grey sequential JPEG of ``precision`` bits (the review's gen_misc.py)."""
    data = b"\xff\xd8" + segment(0xDB, b"\x00" + bytes([1] * 64))
    data += segment(frame_marker, struct.pack(">BHHB", precision, 64, 64, 1) + bytes([1, 0x11, 0]))
    data += segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00") + segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")
    return data + segment(0xDA, bytes([1, 1, 0, 0, 63, 0])) + bytes(64) + b"\xff\xd9"


@pytest.mark.parametrize("data", [b"\xff\xd8\xff" + b"junk" * 5, b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", grey_jpeg(8)[:60]])
def test_a_damaged_jpeg_header_is_told_without_a_pillow_internal(data):
    with pytest.raises(PixelateError) as caught:
        pixelate_bytes(data, 16)
    assert caught.value.reason == "corrupt"
    assert "MPO" not in caught.value.message and "KeyError" not in caught.value.message, caught.value.message
    assert "JPEG" in caught.value.message


@pytest.mark.parametrize("precision, marker", [(12, 0xC1), (12, 0xC2), (16, 0xC3)])
def test_a_jpeg_deeper_than_8_bits_is_unsupported(precision, marker):
    error = refused_before_decoding(grey_jpeg(precision, marker))
    assert error.reason == "unsupported-format" and f"{precision}-bit" in error.message


def test_an_8_bit_jpeg_of_the_same_build_is_pixelated():
    assert pixelate_bytes(grey_jpeg(8), 16).format == "JPEG"


def test_an_mpo_is_still_opened_as_one():
    assert pixelate_bytes((CORPUS / "sugarshack.mpo").read_bytes(), 16).format == "JPEG"
