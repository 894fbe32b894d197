"""The options of a pixelation, and the one strict parser every door uses (API, S3 metadata, CLI, notebooks).

    >>> parse_options(pixel_size="24", method="Nearest")
    Options(pixel_size=24, method='nearest')

Strict on purpose: a pixel size is decimal ASCII digits (surrounding spaces allowed) or an ``int``, never a sign,
a fraction, a bool or another script's digits; what one door accepts, every door accepts. Anything else is a
``PixelateError("invalid-option")`` whose message names the option and the value.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pixelate.image.errors import PixelateError
from pixelate.image.limits import DEFAULT_METHOD, DEFAULT_PIXEL_SIZE, MAX_PIXEL_SIZE, METHODS, MIN_PIXEL_SIZE

#: longest pixel-size text looked at (a six-digit number is already far out of range)
_MAX_DIGITS = 6


@dataclass(frozen=True)
class Options:
    """How to pixelate: the block size in pixels and how a block gets its colour."""

    pixel_size: int = DEFAULT_PIXEL_SIZE
    method: str = DEFAULT_METHOD

    def as_record(self) -> dict[str, Any]:
        """The options as the status record and the idempotency check write them."""
        return {"pixel_size": self.pixel_size, "method": self.method}


def parse_pixel_size(value: object) -> int:
    """An integer pixel size from 2 to 512, from an ``int`` or decimal ASCII digits; else ``invalid-option``."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise invalid(f"The pixel size must be a whole number from {MIN_PIXEL_SIZE} to {MAX_PIXEL_SIZE}, not {value!r}.")
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > _MAX_DIGITS or not MIN_PIXEL_SIZE <= int(text) <= MAX_PIXEL_SIZE:
        raise invalid(f"The pixel size must be a whole number from {MIN_PIXEL_SIZE} to {MAX_PIXEL_SIZE}, not {text[:20]!r}.")
    return int(text)


def parse_method(value: object) -> str:
    """A method name, case-insensitive, one of ``METHODS``; else ``invalid-option``."""
    name = value.strip().lower() if isinstance(value, str) else None
    if name not in METHODS:
        raise invalid(f"The method must be one of {', '.join(METHODS)}, not {str(value)[:20]!r}.")
    return name


def parse_options(pixel_size: object = DEFAULT_PIXEL_SIZE, method: object = DEFAULT_METHOD) -> Options:
    """Options from raw values (strings from a query, metadata or a command line, or already typed)."""
    return Options(pixel_size=parse_pixel_size(pixel_size), method=parse_method(method))


def invalid(message: str) -> PixelateError:
    """The rejection of an option: ``invalid-option`` with ``message``."""
    return PixelateError("invalid-option", message)
