"""A PNG with an absurd number of chunks is refused before Pillow parses them.

Pillow parses every chunk in Python (and keeps private ones): 4 million empty chunks (48 MB) took 7.9 s
and 520 MB before the image was even decoded.
"""
from __future__ import annotations

import io

from PIL import Image

from pixelate import pixelate_bytes
from pixelate.image.fast import png_fast
from pixelate.image.structure import png_chunk_count
from tests.support.paths import CORPUS
from tests.support.refusals import refused_before_decoding

EMPTY_PRIVATE_CHUNK = png_fast._chunk(b"teST", b"")


def small_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 150)).save(buffer, "PNG")
    return buffer.getvalue()


def with_chunks_before_idat(data: bytes, count: int) -> bytes:
    at = data.index(b"IDAT") - 4
    return data[:at] + EMPTY_PRIVATE_CHUNK * count + data[at:]


def test_chunks_are_counted():
    data = small_png()  # IHDR, IDAT, IEND
    assert png_chunk_count(data) == 3
    assert png_chunk_count(with_chunks_before_idat(data, 7)) == 10


def test_corpus_pngs_have_few_chunks():
    for name in ("hopper.png", "apng_dispose_op_none.png", "exif_imagemagick_orientation.png", "i_trns.png"):
        assert png_chunk_count((CORPUS / name).read_bytes()) < 1000, name


def test_a_flood_of_chunks_is_refused_before_decoding():
    error = refused_before_decoding(with_chunks_before_idat(small_png(), 300_000))
    assert error.reason == "too-large" and "chunks" in error.message


def test_some_extra_chunks_are_fine():
    result = pixelate_bytes(with_chunks_before_idat(small_png(), 100), 16)
    assert (result.width, result.height) == (64, 48)
