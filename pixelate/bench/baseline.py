"""The baseline everything is measured against: the classic tutorial code, as most tutorials write it."""
from __future__ import annotations

from PIL import Image


def tutorial_pixelate(image: Image.Image, size: int) -> Image.Image:
    """What most tutorials do: ``resize(NEAREST)`` to ``w // size`` and back up.

    One sample per block (not the mean), a grid stretched to fit ``w // size`` blocks, and (not shown here)
    lost alpha, frames and orientation: the baseline that ``average`` is measured against.
    """
    small = image.resize((max(1, image.width // size), max(1, image.height // size)), Image.Resampling.NEAREST)
    return small.resize(image.size, Image.Resampling.NEAREST)
