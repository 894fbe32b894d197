"""EXIF orientation: the one table of what each value means, and the turn that makes a frame upright.

Phone photos are stored as the sensor saw them and carry an EXIF Orientation (0x0112) that says how to turn
them for display; the output is always the upright picture, with no orientation left to apply. A leaf:
imports only Pillow.
"""
from __future__ import annotations

from typing import Callable

from PIL import Image

#: the EXIF tag
ORIENTATION = 0x0112
#: what each orientation value asks for (1, and anything unknown, is upright already)
EXIF_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
#: the orientations that swap width and height
TRANSPOSING = frozenset({5, 6, 7, 8})


def read_orientation(image: Image.Image, getexif: Callable | None = None) -> int | None:
    """The image's EXIF orientation (1..8; 1 when absent or out of range), or ``None`` when its EXIF cannot be read.

    ``getexif`` is the reader to use (``type(image).getexif`` by default): a caller may pass
    ``Image.Image.getexif`` to skip a plugin's own reader.
    """
    try:
        value = (getexif or type(image).getexif)(image).get(ORIENTATION, 1)
    except Exception:
        return None
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def transpose(frame: Image.Image, orientation: int) -> Image.Image:
    """The frame as displayed (what ``ImageOps.exif_transpose`` does, for every frame of a file).

    The frame's ``info`` goes with it, so palette transparency stays with the turned pixels.
    """
    method = EXIF_TRANSPOSE.get(orientation)
    if method is None:
        return frame
    turned = frame.transpose(method)
    turned.info = dict(frame.info)
    return turned


def upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """A stored (width, height) as displayed."""
    return (size[1], size[0]) if orientation in TRANSPOSING else size
