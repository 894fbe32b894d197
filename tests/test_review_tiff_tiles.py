"""Review: a TIFF's tile size is checked against the pixel limit before the decoder allocates a tile.

Tiles may be larger than the image, and libtiff allocates (and Pillow's decoder fills) one whole tile: a
200-byte 64×64 TIFF with 46336×46336 tiles took 2 GB, the whole of a default Lambda, before failing.
"""
from __future__ import annotations

import struct
import zlib

import pytest

from pixelate import Limits, PixelateError, pixelate_bytes


def tiled_tiff(side: int, tile: int) -> bytes:
    """A side×side 8-bit grey TIFF with one deflated tile of tile×tile pixels (all grey 128, up to 4096²)."""
    # One tile covers the image; a tile too large to be decoded needs no real data.
    payload = zlib.compress(b"\x80" * (tile * tile if tile <= 4096 else 16))
    tags = [
        (256, 4, side), (257, 4, side), (258, 3, 8), (259, 3, 8), (262, 3, 1),
        (322, 4, tile), (323, 4, tile), (324, 4, 8), (325, 4, len(payload)),
    ]
    entries = b"".join(struct.pack("<HHII", tag, kind, 1, value) for tag, kind, value in tags)
    return b"II*\x00" + struct.pack("<I", 8 + len(payload)) + payload + struct.pack("<H", len(tags)) + entries + b"\0" * 4


def test_a_tile_over_the_pixel_limit_is_too_large():
    with pytest.raises(PixelateError) as caught:
        pixelate_bytes(tiled_tiff(64, 4096), 16, limits=Limits(max_pixels=1_000_000))
    assert caught.value.reason == "too-large", caught.value.message


def test_tiles_larger_than_the_image_but_within_the_limit_are_fine():
    result = pixelate_bytes(tiled_tiff(48, 64), 16)
    assert (result.width, result.height, result.format) == (48, 48, "TIFF")
