"""Pixelator: pixelate images correctly and fast, as a library, a CLI and an AWS serverless service.

    >>> from pixelate import pixelate_bytes
    >>> result = pixelate_bytes(open("photo.jpg", "rb").read(), size=16)
    >>> result.content_type, result.width, result.height

The package in layers, each importing only those below it (import-linter checks it):
``cli`` > ``lab`` > ``bench`` > ``local`` > ``deploy`` > ``service`` > ``image``. ``image/`` is the pure
library (bytes in, pixelated bytes out); ``service/`` is what the Lambdas run.

Attributes are imported on first use, so ``import pixelate.deploy`` (or the local stack) does not load
Pillow, and the Lambda handler loads only what it calls.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from pixelate.image.errors import REASONS, PixelateError
from pixelate.image.limits import DEFAULT_METHOD, DEFAULT_PIXEL_SIZE, METHODS, Limits

if TYPE_CHECKING:  # pragma: no cover
    from pixelate.image.options import Options
    from pixelate.image.pipeline import pixelate_bytes, pixelate_image
    from pixelate.image.result import Result

__all__ = [
    "pixelate_bytes",
    "pixelate_image",
    "Result",
    "Options",
    "PixelateError",
    "REASONS",
    "Limits",
    "METHODS",
    "DEFAULT_PIXEL_SIZE",
    "DEFAULT_METHOD",
]

#: public name -> the module that defines it (imported on first use)
_LAZY = {
    "pixelate_bytes": "pixelate.image.pipeline",
    "pixelate_image": "pixelate.image.pipeline",
    "Result": "pixelate.image.result",
    "Options": "pixelate.image.options",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pixelate' has no attribute {name!r}")
