"""A refusal that must come fast: hostile files are turned down before the expensive work starts."""
from __future__ import annotations

import time

import pytest

from pixelate import PixelateError, pixelate_bytes


def refused_within(seconds: float, data: bytes, pixel_size: int = 16, **kwargs) -> PixelateError:
    """The PixelateError that ``pixelate_bytes(data, pixel_size, **kwargs)`` raises, asserting it came within ``seconds``."""
    started = time.perf_counter()
    with pytest.raises(PixelateError) as caught:
        pixelate_bytes(data, pixel_size, **kwargs)
    elapsed = time.perf_counter() - started
    assert elapsed < seconds, f"{elapsed:.2f} s"
    return caught.value
