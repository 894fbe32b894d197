"""Frames and pages after the first are checked against the limits before they are decoded.

A TIFF page has its own size, and Pillow grows a GIF's canvas when a later frame reaches past the logical
screen: a file whose first frame is tiny passed the header check and then decoded a page far over the limit.
"""
from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from pixelate import Limits, PixelateError, pixelate_bytes

LIMITS = Limits(max_pixels=1_000_000)


def tiff_small_then_big(big: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (4, 4)).save(
        buffer, "TIFF", save_all=True, append_images=[Image.new("L", (big, big), 9)], compression="tiff_adobe_deflate"
    )
    return buffer.getvalue()


def gif_frame(side: int, colour: int) -> bytes:
    """An image descriptor and its LZW data, cut from a one-frame GIF Pillow wrote."""
    buffer = io.BytesIO()
    Image.new("P", (side, side), colour).save(buffer, "GIF")
    data = buffer.getvalue()
    return data[data.index(b",\x00\x00\x00\x00") : -1]


def gif_screen_1x1_then_frame(side: int) -> bytes:
    """A 1×1 logical screen and a first 1×1 frame, then a side×side frame (Pillow grows the canvas to it)."""
    header = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    control = b"\x21\xf9\x04\x00\x0a\x00\x00\x00"
    return header + control + gif_frame(1, 0) + control + gif_frame(side, 1) + b";"


@pytest.mark.parametrize("make", [tiff_small_then_big, gif_screen_1x1_then_frame], ids=["tiff-page", "gif-frame"])
def test_a_later_frame_over_the_pixel_limit_is_rejected(make):
    with pytest.raises(PixelateError) as caught:
        pixelate_bytes(make(1_500), 16, limits=LIMITS)
    assert caught.value.reason == "too-large", caught.value.message


@pytest.mark.parametrize("make", [tiff_small_then_big, gif_screen_1x1_then_frame], ids=["tiff-page", "gif-frame"])
def test_a_later_frame_within_the_limit_is_still_processed(make):
    result = pixelate_bytes(make(900), 16, limits=LIMITS)
    assert result.frames == 2


def test_later_frames_count_their_own_pixels_towards_the_total():
    data = tiff_small_then_big(900)  # 16 + 810,000 pixels: the header check saw 2 × 16
    with pytest.raises(PixelateError) as caught:
        pixelate_bytes(data, 16, limits=Limits(max_total_pixels=500_000))
    assert caught.value.reason == "too-many-frames", caught.value.message
