"""Pixelator: pixelate images correctly and fast, as a library, a CLI and an AWS serverless service.

    >>> from pixelate import pixelate_bytes
    >>> result = pixelate_bytes(open("photo.jpg", "rb").read(), size=16)
    >>> result.content_type, result.width, result.height

Attributes are imported on first use, so ``import pixelate.deploy`` (or the local stack) does not load
Pillow, and the Lambda handler loads only what it calls.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from pixelate.errors import REASONS, PixelateError
from pixelate.limits import DEFAULT_METHOD, DEFAULT_PIXEL_SIZE, METHODS, Limits

if TYPE_CHECKING:  # pragma: no cover
    from pixelate.core import Result, pixelate_bytes, pixelate_image

__all__ = [
    "pixelate_bytes",
    "pixelate_image",
    "Result",
    "PixelateError",
    "REASONS",
    "Limits",
    "METHODS",
    "DEFAULT_PIXEL_SIZE",
    "DEFAULT_METHOD",
]


def __getattr__(name: str):
    if name in ("pixelate_bytes", "pixelate_image", "Result"):
        from pixelate import core

        return getattr(core, name)
    raise AttributeError(f"module 'pixelate' has no attribute {name!r}")
