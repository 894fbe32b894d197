"""A refusal that must come before the expensive work: hostile files are turned down by the checks that read
only the file's structure, before any pixel is decoded (a check by what runs, not by a clock: the machine's
load must not decide a test)."""
from __future__ import annotations

import pytest

from pixelate import PixelateError, pixelate_bytes
from pixelate.image import pipeline
from pixelate.image.limits import DEFAULT_LIMITS
from pixelate.image.options import parse_options
from pixelate.image.work import Work

#: The steps that read bytes, structure and headers only (Pillow's open decodes no pixel): no decode runs.
CHECKS = tuple(step for step in pipeline.STEPS if step[0] in ("check bytes", "sniff", "check structure", "open"))
assert len(CHECKS) == 4, "a step was renamed: name the checks again"


def refused_before_decoding(data: bytes, pixel_size: int = 16, **kwargs) -> PixelateError:
    """The PixelateError that the structure checks raise for ``data``; the whole pipeline gives the same answer."""
    with pytest.raises(PixelateError) as early:
        pipeline.run(Work(data, parse_options(pixel_size), DEFAULT_LIMITS), CHECKS)
    with pytest.raises(PixelateError) as whole:
        pixelate_bytes(data, pixel_size, **kwargs)
    assert (whole.value.reason, whole.value.message) == (early.value.reason, early.value.message)
    return whole.value
