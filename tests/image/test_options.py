"""The one options parser every door uses (API, S3 metadata, CLI, notebooks): strict, and the same everywhere."""
from __future__ import annotations

import pytest

from pixelate import Options, PixelateError, pixelate_bytes
from pixelate.image.options import parse_method, parse_options, parse_pixel_size
from tests.support.paths import CORPUS

#: a sign, a fraction, spaces inside, other scripts' digits (Arabic-Indic, full-width), hex, bools, floats, None
INVALID_SIZES = ["abc", "1", "513", "16.5", "-4", "+8", " +16", "1 6", "", "١٦", "１６", "0x10", True, 8.0, None, "9999999"]


@pytest.mark.parametrize("value", INVALID_SIZES)
def test_invalid_pixel_sizes(value):
    with pytest.raises(PixelateError) as caught:
        parse_pixel_size(value)
    assert caught.value.reason == "invalid-option"
    assert "pixel size" in caught.value.message


@pytest.mark.parametrize("value,expected", [("2", 2), ("512", 512), (" 32 ", 32), (64, 64), ("016", 16)])
def test_valid_pixel_sizes(value, expected):
    assert parse_pixel_size(value) == expected


@pytest.mark.parametrize("value", ["blur", "", None, 3, "average nearest"])
def test_invalid_methods(value):
    with pytest.raises(PixelateError) as caught:
        parse_method(value)
    assert caught.value.reason == "invalid-option"


@pytest.mark.parametrize("value,expected", [("average", "average"), (" Nearest ", "nearest"), ("AVERAGE", "average")])
def test_valid_methods(value, expected):
    assert parse_method(value) == expected


def test_parse_options_gives_typed_options():
    assert parse_options("24", "Nearest") == Options(24, "nearest")
    assert parse_options().as_record() == {"pixel_size": 16, "method": "average"}


@pytest.mark.parametrize("value", [" +16", "١٦"])
def test_the_core_refuses_what_the_other_doors_refuse(value):
    # the core used int(), which took " +16" and Arabic-Indic digits; every door now answers the same
    with pytest.raises(PixelateError) as caught:
        pixelate_bytes((CORPUS / "hopper.png").read_bytes(), value)
    assert caught.value.reason == "invalid-option"
