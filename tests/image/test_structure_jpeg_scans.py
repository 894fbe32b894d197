"""A JPEG with an absurd number of scans is refused before libjpeg runs them.

libjpeg accepts repeated progressive scans (a warning, not an error) and runs each over every block of the
image: a 73 KB JPEG of 12 MP with 1,000 copies of one 26-byte scan took 6 s; 50 MB of them would outlast
any Lambda timeout, and a timeout is retried.
"""
from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from pixelate import pixelate_bytes
from pixelate.image.structure import (
    MAX_JPEG_SCAN_BLOCKS,
    MAX_JPEG_SCANS,
    MIN_JPEG_SCANS_ALLOWED,
    check_structure,
    jpeg_frame,
    jpeg_scan_count,
    jpeg_scans_allowed,
)
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


def refinement_scans(width: int, height: int, scans: int) -> bytes:
    """A grey progressive JPEG of a DC scan and ``scans - 1`` AC refinement scans that are all end-of-band runs: a
    few bytes each, yet libjpeg walks every block in each (the review's gen_jpeg_refine.py)."""
    blocks = -(-width // 8) * -(-height // 8)
    data = b"\xff\xd8" + segment(0xDB, b"\x00" + bytes([1] * 64))
    data += segment(0xC2, struct.pack(">BHHB", 8, height, width, 1) + bytes([1, 0x11, 0]))
    data += segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")  # DC: one code, category 0
    data += segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\xe0")  # AC: one code, EOB14
    data += segment(0xDA, bytes([1, 1, 0x00, 0, 0, 0x00])) + bytes(-(-blocks // 8))  # a '0' bit per block
    runs = -(-blocks // 32767)  # each an EOB14 run of 2^14 + 0x3FFF blocks: '0' then fourteen '1's
    bits = "".join("0" + "1" * 14 for _ in range(runs))
    bits += "1" * (-len(bits) % 8)
    ac = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8)).replace(b"\xff", b"\xff\x00")
    data += (segment(0xDA, bytes([1, 1, 0x00, 1, 63, 0x10])) + ac) * (scans - 1)
    return data + b"\xff\xd9"


def segment(marker: int, body: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body


def test_a_large_image_may_have_fewer_scans():
    """The review's 103 KB 7000×7000 JPEG of 99 empty refinement scans took 3 s to decode, 9 s with regions."""
    assert jpeg_scans_allowed((8, 7000, 7000)) == MIN_JPEG_SCANS_ALLOWED < MAX_JPEG_SCANS
    assert jpeg_scans_allowed((8, 480, 640)) == MAX_JPEG_SCANS
    error = refused_before_decoding(refinement_scans(7000, 7000, 60))
    assert error.reason == "too-large" and "7000×7000" in error.message and "scans" in error.message


def test_a_large_progressive_jpeg_of_ordinary_scans_passes_the_walk():
    check_structure(refinement_scans(7000, 7000, MIN_JPEG_SCANS_ALLOWED), "JPEG")
    check_structure(refinement_scans(4000, 4000, 30), "JPEG")  # 250,000 blocks: 40 scans allowed


def test_real_jpegs_are_far_within_the_scan_budget():
    for name in ("hopper.jpg", "flower.jpg", "exif_gps.jpg", "icc_profile_big.jpg", "sugarshack.mpo", "pil_sample_cmyk.jpg"):
        data = (CORPUS / name).read_bytes()
        precision, height, width = jpeg_frame(data)
        blocks = -(-width // 8) * -(-height // 8)
        assert precision == 8 and jpeg_scan_count(data) * blocks < MAX_JPEG_SCAN_BLOCKS / 10, name
