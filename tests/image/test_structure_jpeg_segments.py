"""A JPEG with an absurd number of header segments is refused before Pillow parses them.

Pillow parses the segments before the first scan in Python and keeps every APPn: 5 million empty APP15
segments (20 MB) took 4.7 s and 700 MB; 50 MB of them would run a 2 GB Lambda out of memory.
"""
from __future__ import annotations

import io

from PIL import Image

from pixelate import pixelate_bytes
from pixelate.image.structure import jpeg_header_segments
from tests.support.paths import CORPUS
from tests.support.refusals import refused_before_decoding

EMPTY_APP15 = b"\xff\xef\x00\x02"


def small_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 150)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_header_segments_are_counted():
    data = small_jpeg()  # APP0, DQT ×2, SOF0, DHT ×4
    assert jpeg_header_segments(data[:2] + EMPTY_APP15 * 5 + data[2:]) == jpeg_header_segments(data) + 5


def test_corpus_jpegs_have_few_header_segments():
    for name in ("hopper.jpg", "exif_gps.jpg", "icc_profile_big.jpg", "app13.jpg", "sugarshack.mpo", "pil_sample_cmyk.jpg"):
        assert jpeg_header_segments((CORPUS / name).read_bytes()) < 100, name


def test_a_flood_of_segments_is_refused_before_decoding():
    data = small_jpeg()
    error = refused_before_decoding(data[:2] + EMPTY_APP15 * 500_000 + data[2:])
    assert error.reason == "too-large" and "segments" in error.message


def test_some_extra_segments_are_fine():
    data = small_jpeg()
    result = pixelate_bytes(data[:2] + EMPTY_APP15 * 50 + data[2:], 16)
    assert (result.width, result.height) == (64, 48)
