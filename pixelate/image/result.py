"""What the image pipeline answers: the encoded image and what a caller needs to store and serve it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """A pixelated image: encoded bytes and what a caller needs to store and serve them."""

    data: bytes
    content_type: str
    format: str
    width: int
    height: int
    frames: int
