"""A JPEG with an absurd number of scans is refused before libjpeg runs them.

libjpeg accepts repeated progressive scans (a warning, not an error) and runs each over every block of the
image: a 73 KB JPEG of 12 MP with 1,000 copies of one 26-byte scan took 6 s; 50 MB of them would outlast
any Lambda timeout, and a timeout is retried.
"""
from __future__ import annotations

import io

import pytest
from PIL import Image

from pixelate import pixelate_bytes
from pixelate.image.structure import jpeg_scan_count
from tests.support.paths import CORPUS
from tests.support.refusals import refused_before_decoding


def progressive(mode: str, size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(size, 40).convert(mode).save(buffer, "JPEG", progressive=True)
    return buffer.getvalue()


def with_repeated_last_scan(data: bytes, copies: int) -> bytes:
    last = data[data.rindex(b"\xff\xda") : -2]
    return data[:-2] + last * copies + b"\xff\xd9"


@pytest.mark.parametrize("mode, scans", [("L", 6), ("RGB", 10), ("CMYK", 18)])
def test_scans_are_counted(mode, scans):
    assert jpeg_scan_count(progressive(mode)) == scans


def test_baseline_and_corpus_jpegs_have_few_scans():
    for name in ("hopper.jpg", "flower.jpg", "exif_gps.jpg", "icc_profile_big.jpg", "sugarshack.mpo", "pil_sample_cmyk.jpg"):
        assert 1 <= jpeg_scan_count((CORPUS / name).read_bytes()) <= 20, name


def test_repeated_scans_are_refused_before_decoding():
    flat = io.BytesIO()
    Image.new("L", (2000, 1500), 100).save(flat, "JPEG", progressive=True)
    error = refused_before_decoding(with_repeated_last_scan(flat.getvalue(), 3000))
    assert error.reason == "too-large" and "scans" in error.message


def test_a_progressive_jpeg_is_still_pixelated():
    result = pixelate_bytes(with_repeated_last_scan(progressive("RGB"), 3), 16)
    assert (result.width, result.height) == (64, 48)
