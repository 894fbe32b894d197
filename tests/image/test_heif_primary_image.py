"""A HEIC holding several images becomes one JPEG of its primary image.

pillow_heif reports each top-level image as a frame; the output of a HEIC is a JPEG, which has no frames,
and saving several frames as JPEG raised KeyError: a retry loop in the Lambda, a 500 from the API.
"""
from __future__ import annotations

import io

from PIL import Image

from pixelate import pixelate_bytes
from tests.support.hostile_files import heic_of_two_images


def test_multi_image_heic_gives_one_jpeg_of_the_primary_image():
    result = pixelate_bytes(heic_of_two_images(), 16)
    assert (result.format, result.frames, result.width, result.height) == ("JPEG", 1, 64, 48)
    red, _, blue = Image.open(io.BytesIO(result.data)).convert("RGB").getpixel((30, 20))
    assert red > 150 and blue < 60
