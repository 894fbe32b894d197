"""What the image pipeline answers: the encoded image and what a caller needs to store and serve it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """A pixelated image: encoded bytes and what a caller needs to store and serve them.

    ``regions``: with regions or faces asked, the boxes actually pixelated, each ``{x, y, w, h, block, source}``
    (``source`` is ``manual`` or ``face``, and a face has its detector ``score``); empty for a whole image. An
    animation's detected faces also have ``frames``, ``[first, last]`` (``regions.describe_frames``).
    """

    data: bytes
    content_type: str
    format: str
    width: int
    height: int
    frames: int
    regions: tuple[dict, ...] = ()
