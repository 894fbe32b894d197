"""The one options parser every door uses (API, S3 metadata, CLI, notebooks): strict, and the same everywhere."""
from __future__ import annotations

import pytest

from pixelate import Options, PixelateError, pixelate_bytes
from pixelate.image.options import Region, parse_method, parse_options, parse_pixel_size, parse_regions
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
    assert parse_options().as_record() == {"pixel_size": 16, "method": "average", "regions": [], "faces": False}
    options = parse_options(8, "average", "10,20,30,40;0.5,0.25,0.5,0.75", "yes", "4")
    assert options.as_record() == {"pixel_size": 8, "method": "average", "regions": ["10,20,30,40", "0.5,0.25,0.5,0.75"],
                                   "faces": True, "face_blocks": 4}
    assert parse_options(8, regions=options.as_record()["regions"]).regions == options.regions  # the record reads back
    # a region marked as a face gets a face's block: face_blocks changes the result, so the record holds it
    assert parse_options(8, regions="1,2,3,4,face", face_blocks="2").as_record()["face_blocks"] == 2


@pytest.mark.parametrize("value,expected", [
    ("10,20,30,40", [Region(10, 20, 30, 40)]),
    (" 0.1, 0.2 ,0.3,0.4 ; 1,2,3,4 ", [Region(0.1, 0.2, 0.3, 0.4, True), Region(1, 2, 3, 4)]),
    ([(1, 2, 3, 4)], [Region(1, 2, 3, 4)]),
    ((0.0, 0.0, 1.0, 1.0), [Region(0.0, 0.0, 1.0, 1.0, True)]),
    ("0,0,1,1", [Region(0, 0, 1, 1)]),  # whole numbers are pixels: a 1×1 pixel square
    ("10,20,30,40,face;1,2,3,4", [Region(10, 20, 30, 40, face=True), Region(1, 2, 3, 4)]),
    ([[10, 20, 30, 40, "face"], (0.5, 0.5, 0.1, 0.1, "FACE")], [Region(10, 20, 30, 40, face=True),
                                                              Region(0.5, 0.5, 0.1, 0.1, True, face=True)]),
    ("", []), (None, []),
])
def test_valid_regions(value, expected):
    assert list(parse_regions(value)) == expected


def test_a_region_from_numbers_is_what_its_text_reads_back_as():
    """The API signs a region's text into an upload: the numbers and their text must mean the same rectangle, or an
    upload signed with them fails once sent (1e-10 was signed as 0.0; 1,000,000 px as seven digits)."""
    import numpy as np

    for value in [(np.int64(3), 4, 5, 6), (np.float32(0.25), 0.5, 0.125, 0.2), np.array([1, 2, 3, 4]), (0, 0, 1, 0.5),
                  (0.1234567891234, 0.2, 0.3, 0.4), (999_999, 0, 1, 1)]:
        (region,) = parse_regions([value])
        assert parse_regions(region.as_text()) == (region,)
    assert parse_regions([(0, 0, 1, 0.5)])[0].box(100, 80) == parse_regions("0,0,1,0.5")[0].box(100, 80)


def test_fractions_round_outward_but_not_past_float_error():
    # (0.1 + 0.2) × 100 is 30.000000000000004: the box is 20 px across, as in pixels, not 21
    assert Region(0.1, 0.1, 0.2, 0.2, fraction=True).box(100, 80) == Region(10, 8, 20, 16).box(100, 80)
    assert Region(0.101, 0.1, 0.2, 0.2, fraction=True).box(100, 80).corners == (10, 8, 31, 24)
    assert parse_regions("0.5,0.5,0.000000001,0.000000001")[0].box(1000, 1000).corners == (500, 500, 501, 501)


@pytest.mark.parametrize("value", ["1,2,3", "1,2,3,4,5", "1,2,3,4,head", "1,2,3,4,face,face", [(1, 2, 3, 4, "hand")], "-1,2,3,4", "+1,2,3,4", "1e3,1,1,1", "١,2,3,4", "0.5,2,3,4",
                                   "1,2,0,4", "0.1,0.1,0.0,0.5", "1.5,0,0.5,0.5", "a,b,c,d", [(1, 2, 3)], [(1, 2, 3, -4)],
                                   [(True, 2, 3, 4)], ";".join(["1,1,1,1"] * 65), 12,
                                   ";", " ; ;", b"1234", [(0, 0, 1_000_000, 5)], [(0, 0, 10**5000, 5)], [(0, 0, -10**5000, 5)],
                                   [(0.5, 0.5, 1e-10, 1e-10)], [(0.0, 0.0, 1e300, 0.5)]])
def test_invalid_regions(value):
    with pytest.raises(PixelateError) as caught:
        parse_regions(value)
    assert caught.value.reason == "invalid-option"


@pytest.mark.parametrize("value,expected", [("true", True), ("FALSE", False), ("yes", True), ("0", False), (True, True),
                                            (1, True), (0, False), (None, False)])
def test_faces_flag(value, expected):
    assert parse_options(faces=value).faces is expected


@pytest.mark.parametrize("name,value", [("faces", "maybe"), ("faces", 2), ("face_blocks", "-1"), ("face_blocks", "65"),
                                        ("face_blocks", 1.5)])
def test_invalid_face_options(name, value):
    with pytest.raises(PixelateError) as caught:
        parse_options(**{name: value})
    assert caught.value.reason == "invalid-option"


@pytest.mark.parametrize("value", [" +16", "١٦"])
def test_the_core_refuses_what_the_other_doors_refuse(value):
    # the core used int(), which took " +16" and Arabic-Indic digits; every door now answers the same
    with pytest.raises(PixelateError) as caught:
        pixelate_bytes((CORPUS / "hopper.png").read_bytes(), value)
    assert caught.value.reason == "invalid-option"


def test_a_negative_number_is_named_as_such():
    with pytest.raises(PixelateError, match="has a negative number: x and y count from the image's top-left"):
        parse_regions("-10,-10,50,50")
