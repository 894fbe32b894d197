"""A TIFF's tile size is checked against the pixel limit before the decoder allocates a tile.

Tiles may be larger than the image, and libtiff allocates (and Pillow's decoder fills) one whole tile: a
200-byte 64×64 TIFF with 46336×46336 tiles took 2 GB, the whole of a default Lambda, before failing.
"""
from __future__ import annotations

import pytest

from pixelate import Limits, PixelateError, pixelate_bytes
from tests.support.hostile_files import tiled_tiff


def test_a_tile_over_the_pixel_limit_is_too_large():
    with pytest.raises(PixelateError) as caught:
        pixelate_bytes(tiled_tiff(64, 4096), 16, limits=Limits(max_pixels=1_000_000))
    assert caught.value.reason == "too-large", caught.value.message


def test_tiles_larger_than_the_image_but_within_the_limit_are_fine():
    result = pixelate_bytes(tiled_tiff(48, 64), 16)
    assert (result.width, result.height, result.format) == (48, 48, "TIFF")
