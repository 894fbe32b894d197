"""A TIFF with a huge number of pages is refused in time bounded by the frame limit.

Pillow counts TIFF pages by walking every IFD, in time quadratic in their number: 100,000 tiny pages
(10 MB) took 38 s to count before the frame limit was even looked at: a Lambda timeout and a retry loop.
"""
from __future__ import annotations

import io

import pytest
from PIL import Image

from pixelate import Limits, PixelateError, pixelate_bytes
from tests.support.hostile_files import tiff_of_tiny_pages
from tests.support.refusals import refused_before_decoding


def test_many_pages_are_refused_before_decoding():
    assert refused_before_decoding(tiff_of_tiny_pages(30_000)).reason == "too-many-frames"


def test_pages_up_to_the_limit_are_all_kept():
    for count in (1, 3, 5):
        result = pixelate_bytes(tiff_of_tiny_pages(count), 2, limits=Limits(max_frames=5))
        assert result.frames == count
        assert Image.open(io.BytesIO(result.data)).n_frames == count


def test_one_page_over_the_limit_is_refused():
    with pytest.raises(PixelateError) as caught:
        pixelate_bytes(tiff_of_tiny_pages(6), 2, limits=Limits(max_frames=5))
    assert caught.value.reason == "too-many-frames" and "5" in caught.value.message
