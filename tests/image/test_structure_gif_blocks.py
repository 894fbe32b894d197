"""A GIF cut into absurdly many sub-blocks, or padded with stray bytes, is refused before Pillow reads it.

Pillow reads a GIF's sub-blocks one by one in Python and keeps each sub-block of a comment: a 25 MB comment of
1-byte sub-blocks took 5 s and 1.1 GB (44 times the file). It also steps over stray bytes between blocks one
read at a time: 10 MB of them took 2.4 s.
"""
from __future__ import annotations

import pytest

from pixelate import pixelate_bytes
from pixelate.image import structure
from tests.support.hostile_files import DISPOSE_TO_BACKGROUND, SCREEN_1x1, one_pixel_frame
from tests.support.paths import CORPUS
from tests.support.refusals import refused_before_decoding


def gif(*blocks: bytes) -> bytes:
    return SCREEN_1x1 + one_pixel_frame() + b"".join(blocks) + one_pixel_frame() + b";"


def comment_of_tiny_sub_blocks(count: int) -> bytes:
    return b"\x21\xfe" + b"\x01a" * count + b"\x00"


def frame_of_tiny_sub_blocks(count: int) -> bytes:
    """A 1×1 frame whose image data (its few LZW bytes, then junk the decoder never reads) is in 1-byte sub-blocks."""
    frame = one_pixel_frame()
    return frame[:-1] + b"\x01\x00" * count + b"\x00"


def test_a_comment_of_tiny_sub_blocks_is_refused():
    error = refused_before_decoding(gif(comment_of_tiny_sub_blocks(150_000)))
    assert error.reason == "corrupt" and "sub-blocks" in error.message


def test_image_data_of_tiny_sub_blocks_is_refused():
    error = refused_before_decoding(gif(frame_of_tiny_sub_blocks(150_000)))
    assert error.reason == "corrupt" and "sub-blocks" in error.message


def test_stray_bytes_between_blocks_are_refused():
    error = refused_before_decoding(gif(b"\x01" * (structure.MAX_GIF_STRAY_BYTES + 1)))
    assert error.reason == "corrupt" and "stray bytes" in error.message


def test_a_few_stray_bytes_and_sub_blocks_are_fine():
    data = gif(b"\x00" * 1_000, comment_of_tiny_sub_blocks(1_000))
    assert structure.gif_canvas_size(data) == (1, 1)
    assert pixelate_bytes(data, 4).format == "GIF"


@pytest.mark.parametrize("name", ["hopper.gif", "iss634.gif", "dispose_bgnd.gif"])
def test_real_gifs_pass_the_walk(name):
    structure.check_structure((CORPUS / name).read_bytes(), "GIF")


def test_a_gif_too_short_for_a_screen_is_left_to_the_decoder():
    structure.check_structure(b"GIF89a\x01\x00", "GIF")


def test_a_flood_of_tiny_frames_is_still_too_many_frames():
    """Each frame brings a few sub-blocks of allowance: 200,000 one-pixel frames are refused for their number."""
    data = SCREEN_1x1 + (DISPOSE_TO_BACKGROUND + one_pixel_frame()) * 200_000 + b";"
    assert refused_before_decoding(data).reason == "too-many-frames"
