"""Faces through an animation (``face_track``): which frames are looked at, and the boxes of the frames between."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from pixelate.image import face_track
from pixelate.image.options import Box, parse_options
from pixelate.image.pipeline import pixelate_bytes
from pixelate.image.regions import Target
from tests.support.paths import SAMPLES

OPTIONS = parse_options(8, faces=True)


def face(x0, y0, x1, y1, score=0.9):
    return Target(Box(x0, y0, x1, y1), 8, "face", score)


def test_first_looks_are_every_frame_of_a_short_animation_else_spread_with_the_last():
    assert face_track.first_looks(5) == [0, 1, 2, 3, 4]
    looks = face_track.first_looks(100)
    assert looks[0] == 0 and looks[-1] == 99 and face_track.SPREAD <= len(looks) <= face_track.SPREAD + 1
    assert max(b - a for a, b in zip(looks, looks[1:])) == 9
    assert face_track.first_looks(50, most=5) == [0, 13, 26, 39, 49]  # a budget under the spread is kept
    assert face_track.first_looks(50, most=1) == [0, 49]  # the first and the last, at least
    assert face_track.between([face(0, 0, 40, 40)], [], OPTIONS)[0].box == Box(0, 0, 40, 40)  # gone: where it was


def test_looks_that_agree_need_no_more_and_those_that_disagree_get_halfway_widest_first():
    still = {0: [face(10, 10, 50, 50)], 10: [face(12, 10, 52, 50)], 20: [face(11, 11, 51, 51)]}
    assert face_track.halfway(still, 10) == []
    moved = {0: [face(10, 10, 50, 50)], 4: [face(80, 10, 120, 50)], 20: [face(200, 10, 240, 50)], 21: []}
    assert face_track.halfway(moved, 10) == [2, 12]  # not 20..21: nothing lies between them
    assert face_track.halfway(moved, 1) == [12]  # the widest gap first
    came = {0: [], 8: [face(10, 10, 50, 50)]}
    assert face_track.halfway(came, 5) == [4]


def test_a_frame_between_two_looks_takes_the_box_spanning_both_places_of_a_face():
    before = [face(10, 10, 50, 50, 0.8), face(300, 10, 340, 50)]
    after = [face(70, 12, 110, 52, 0.95), face(600, 100, 640, 140)]
    spanning, far_before = face_track.between(before, after, OPTIONS)
    assert spanning.box == Box(10, 10, 110, 52) and spanning.score == 0.95  # moved 60 px: the same face
    assert spanning.block == 16  # sized for the spanning box (100 px in at most 8 blocks)
    assert far_before.box == Box(300, 10, 640, 140)  # 300 px apart, but the only ones left: the same face


def test_every_frame_between_two_looks_shares_its_boxes():
    looked = {0: [face(10, 10, 50, 50)], 3: [face(40, 10, 80, 50)]}
    frames = face_track.per_frame(looked, 4, OPTIONS)
    assert frames[0] == looked[0] and frames[3] == looked[3]
    assert frames[1] is frames[2] and [t.box for t in frames[1]] == [Box(10, 10, 80, 50)]


def crossing(fmt: str) -> tuple[io.BytesIO, list[int]]:
    """36 frames of a face crossing a 1200 px strip at 31 px a frame: between looks three frames apart, more than
    the face's width. The encoded animation and the face's left edge on each frame."""
    sprite = Image.open(SAMPLES / "astronaut.png").convert("RGB").crop((120, 20, 330, 230)).resize((80, 80))
    frames, places = [], []
    for index in range(36):
        canvas = Image.new("RGB", (1200, 240), (90, 120, 160))
        places.append(10 + 31 * index)
        canvas.paste(sprite, (places[-1], 80))
        frames.append(canvas)
    data = io.BytesIO()
    frames[0].save(data, fmt, save_all=True, append_images=frames[1:], duration=50, loop=0, lossless=True)
    return data, places


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_a_face_crossing_a_long_animation_fast_is_hidden_on_every_frame(fmt):
    data, places = crossing(fmt)
    result = pixelate_bytes(data.getvalue(), 8, faces=True)
    source, output = Image.open(data), Image.open(io.BytesIO(result.data))
    assert result.frames == 36
    for index, x in enumerate(places):
        source.seek(index)
        output.seek(index)
        core = (x + 25, 100, x + 55, 140)  # eyes to mouth
        kept = (np.asarray(output.convert("RGB").crop(core)) == np.asarray(source.convert("RGB").crop(core))).all(axis=2)
        assert kept.mean() < 0.2, (index, kept.mean())  # (a frame between looks that kept the old boxes: 0.45-0.65)
    assert all(0 <= entry["frames"][0] <= entry["frames"][1] < 36 for entry in result.regions)


def test_the_looks_stay_within_the_limit(monkeypatch):
    from pixelate.image import faces
    from pixelate.image.limits import Limits

    looks = []
    real = faces.detect_faces
    monkeypatch.setattr(faces, "detect_faces", lambda *args, **kwargs: looks.append(1) or real(*args, **kwargs))
    data, _places = crossing("GIF")
    pixelate_bytes(data.getvalue(), 8, faces=True, limits=Limits(max_face_looks=13))
    assert len(looks) == 13  # the 12 spread and the last: what POST /api/pixelate allows
    looks.clear()
    pixelate_bytes(data.getvalue(), 8, faces=True)
    assert 13 < len(looks) <= Limits().max_face_looks
