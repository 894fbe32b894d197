"""The bounds of ``face_bounds``: the geometry its figures rest on, on boxes whose answer is known by hand."""
from __future__ import annotations

import pytest

from pixelate.lab import face_bounds

#: one 64×64 photo, one detector box (10..30) and its hand-drawn face (12..28)
PHOTO = ((64, 64), [[10.0, 10.0, 30.0, 30.0, 0.9]], [(12, 12, 28, 28)])
OUTSIDE_AREA = 64 * 64 - 16 * 16


def perfect(size, dets, truth):
    return truth


def test_perfect_boxes_change_nothing_outside_exactly_and_the_ring_of_their_blocks_on_a_grid():
    assert face_bounds.measure([PHOTO], perfect, cell=1) == ([1.0], [0.0])
    covers, outside = face_bounds.measure([PHOTO], perfect, cell=8)  # 12..28 grows to 8..32
    assert covers == [1.0] and outside == [pytest.approx((24 * 24 - 16 * 16) / OUTSIDE_AREA)]


def test_a_reshaped_box_moves_each_edge_by_its_share():
    (box,) = face_bounds.reshaped(0.1, 0.25, -0.25)(*PHOTO)
    assert box == pytest.approx((8.0, 15.0, 32.0, 25.0))  # 2 px out each side, top 5 down, bottom 5 up
    covers, outside = face_bounds.measure([PHOTO], face_bounds.reshaped(0.1, 0.25, -0.25), cell=1)
    assert covers == [pytest.approx(10 / 16)]  # rows 15..25 of the face's 12..28, every column
    assert outside == [pytest.approx((24 * 10 - 16 * 10) / OUTSIDE_AREA)]


def test_edge_spread_is_zero_for_a_constant_offset_and_grows_with_jitter():
    shifted = [((64, 64), [[x, 10.0, x + 20, 30.0, 0.9]], [(x + 2, 12, x + 18, 28)]) for x in (4.0, 20.0, 36.0)]
    assert face_bounds.edge_spread(shifted) == pytest.approx({"left": 0, "top": 0, "right": 0, "bottom": 0})
    jittered = shifted + [((64, 64), [[10.0, 10.0, 30.0, 30.0, 0.9]], [(14, 12, 30, 28)])]
    assert face_bounds.edge_spread(jittered)["left"] > 0.04
