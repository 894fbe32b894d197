"""A TIFF's Orientation tag is applied once.

Pillow's TIFF loader turns a page upright itself as it loads it (and reports the upright size); the core
turned it again, so every TIFF with an orientation other than 1 came out mirrored, upside down or sideways.
"""
from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops

from pixelate import pixelate_bytes
from pixelate.image import ops

turn = Image.Transpose
#: EXIF/TIFF orientation -> the turn that shows the stored pixels upright (TIFF 6.0, tag 274)
SHOWN = {
    2: turn.FLIP_LEFT_RIGHT,
    3: turn.ROTATE_180,
    4: turn.FLIP_TOP_BOTTOM,
    5: turn.TRANSPOSE,
    6: turn.ROTATE_270,
    7: turn.TRANSVERSE,
    8: turn.ROTATE_90,
}


def marked_picture() -> Image.Image:
    picture = Image.linear_gradient("L").convert("RGB").resize((64, 48))
    picture.paste((255, 0, 0), (0, 0, 20, 10))  # a red corner shows any turn or mirror
    return picture


def tiff_with_orientation(picture: Image.Image, orientation: int) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "TIFF", tiffinfo={0x0112: orientation})
    return buffer.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_tiff_orientation_is_applied_once(orientation):
    picture = marked_picture()
    data = tiff_with_orientation(picture, orientation)
    # What a viewer shows: the stored pixels turned by the tag, exactly once.
    shown = picture.transpose(SHOWN[orientation]) if orientation in SHOWN else picture
    expected = ops.pixelate(shown, 16)
    result = pixelate_bytes(data, 16)
    output = Image.open(io.BytesIO(result.data)).convert("RGB")
    assert (result.width, result.height) == shown.size == output.size
    assert ImageChops.difference(output, expected).getbbox() is None
