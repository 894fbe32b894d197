"""Faces through an animation (``face_track``): which frames are looked at, and the boxes of the frames between."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageChops, ImageDraw

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


def test_frames_unlike_the_looks_around_them_are_looked_at_the_most_different_first():
    grey = [Image.new("L", (6, 4), 100) for _ in range(10)]
    grey[3] = Image.new("L", (6, 4), 180)  # 80 levels from both looks (0 and 9)
    grey[6] = Image.new("L", (6, 4), 140)  # 40
    grey[7] = Image.new("L", (6, 4), 100 + face_track.CHANGE_LEVELS)  # like them: not looked at
    # 3 first, then 6 (40 from its looks 3 and 9), then 4: between 3 and 6 now, unlike both (its faces would be
    # neither's); 5 is then like 4, and 7, 8 like 6 or 9
    assert face_track.changed(grey, [0, 9], 5) == [3, 4, 6]
    assert face_track.changed(grey, [0, 9], 1) == [3]  # the budget goes to the most different first
    assert face_track.changed(grey, [0, 9], 0) == []
    one_cell = Image.new("L", (6, 4), 100)
    one_cell.putpixel((4, 2), 100 + face_track.CHANGE_LEVELS + 1)  # a face is small: one cell is enough
    assert face_track.changed([grey[0], one_cell, grey[0]], [0, 2], 5) == [1]
    scene_cut = [grey[0]] + [Image.new("L", (6, 4), 220)] * 8 + [grey[0]]
    assert len(face_track.changed(scene_cut, [0, 9], 5)) == 1  # one look stands for the frames like it
    like_the_next = [grey[0], Image.new("L", (6, 4), 220), Image.new("L", (6, 4), 220)]
    assert face_track.changed(like_the_next, [0, 2], 5) == []  # (the look after it covers it: between)


def test_a_small_face_coming_into_view_changes_a_cell_of_the_signature_past_the_threshold():
    """The threshold against what a face does: the smallest face the detector finds (30 px) on backgrounds of
    its own colours (skin, mid grey) still changes a cell by far more than ``CHANGE_LEVELS``."""
    sprite = Image.open(SAMPLES / "astronaut.png").convert("RGB").crop((170, 40, 290, 190)).resize((30, 38))
    for background in ((200, 160, 140), (128, 128, 128), (20, 20, 20)):
        empty = Image.new("RGB", (480, 360), background)
        for offset in range(8):  # every alignment to the cells
            shown = empty.copy()
            shown.paste(sprite, (200 + offset, 150 + offset))
            before, after = face_track.signature(empty, 30), face_track.signature(shown, 30)
            assert ImageChops.difference(before, after).getextrema()[1] > 2 * face_track.CHANGE_LEVELS


def head() -> Image.Image:
    """Head and shoulders, a face of ~55 px."""
    return Image.open(SAMPLES / "astronaut.png").convert("RGB").crop((150, 30, 300, 210)).resize((75, 90))


def kept_share(source: Image.Image, output: Image.Image, index: int, box: tuple[int, int, int, int]) -> float:
    """The share of ``box`` on frame ``index`` the output kept as it was."""
    source.seek(index)
    output.seek(index)
    before, after = (np.asarray(image.convert("RGB").crop(box)) for image in (source, output))
    return float((before == after).all(axis=2).mean())


def test_a_face_on_screen_only_between_two_looks_of_the_cadence_is_found():
    """60 frames, a person on frames 1-4 only (between the cadence's looks at 0 and 5, which see nobody), a dot
    moving on every frame: no look saw the face, and it was left as it was (100 % of it) on all four."""
    sprite, frames = head(), []
    for index in range(60):
        frame = Image.new("RGB", (240, 180), (90, 120, 90))
        ImageDraw.Draw(frame).rectangle((2 * index, 170, 2 * index + 3, 178), fill=(255, 255, 255))
        if 1 <= index <= 4:
            frame.paste(sprite, (80 + 5 * index, 40))
        frames.append(frame.quantize(256))
    data = io.BytesIO()
    frames[0].save(data, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0, optimize=False)
    result = pixelate_bytes(data.getvalue(), 16, faces=True)
    source, output = Image.open(data), Image.open(io.BytesIO(result.data))
    for index in range(1, 5):
        core = (80 + 5 * index + 25, 65, 80 + 5 * index + 50, 105)  # eyes to mouth
        assert kept_share(source, output, index, core) < 0.2, index
    assert all(any(entry["frames"][0] <= index <= entry["frames"][1] for entry in result.regions) for index in range(1, 5))


def slideshow(count: int, face_on: int | None = None) -> io.BytesIO:
    """A GIF of ``count`` frames, every one another photo (parts of the samples without people), the person on
    frame ``face_on``."""
    rng = np.random.default_rng(7)
    photos = [Image.open(SAMPLES / name).convert("RGB") for name in ("chelsea.png", "coffee.png", "rocket.jpg")]
    frames = []
    for index in range(count):
        photo = photos[index % 3]
        side = int(rng.integers(240, min(photo.size)))
        x, y = int(rng.integers(0, photo.width - side + 1)), int(rng.integers(0, photo.height - side + 1))
        frame = photo.crop((x, y, x + side, y + side)).resize((240, 180))
        if index == face_on:
            frame.paste(head(), (100, 45))
        frames.append(frame.quantize(256))
    data = io.BytesIO()
    frames[0].save(data, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0, optimize=False)
    return data


def test_a_face_on_a_single_frame_of_a_slideshow_is_found():
    """Every frame another photo, a face on one of them (not a frame of the cadence): looked at and hidden."""
    data = slideshow(60, face_on=23)
    result = pixelate_bytes(data.getvalue(), 16, faces=True)
    source, output = Image.open(data), Image.open(io.BytesIO(result.data))
    assert kept_share(source, output, 23, (125, 70, 150, 110)) < 0.2
    assert any(entry["frames"] == [23, 23] for entry in result.regions)


def test_the_looks_stay_within_their_bounds(monkeypatch):
    from pixelate.image import faces
    from pixelate.image.limits import Limits

    looks = []
    real = faces.detect_faces
    monkeypatch.setattr(faces, "detect_faces", lambda *args, **kwargs: looks.append(1) or real(*args, **kwargs))
    alike = [Image.new("RGB", (200, 150), (90, 120, 160)) for _ in range(48)]
    for index, frame in enumerate(alike):
        frame.putpixel((index, 10), (250, 250, 250))  # (no two frames the same: none folded)
    data = io.BytesIO()
    alike[0].save(data, "GIF", save_all=True, append_images=alike[1:], duration=50, loop=0)
    pixelate_bytes(data.getvalue(), 8, faces=True, limits=Limits(max_face_looks=13))
    assert len(looks) == 13  # frames alike: the 12 spread and the last
    looks.clear()
    pixelate_bytes(slideshow(40).getvalue(), 8, faces=True, limits=Limits(max_face_looks=5))
    assert len(looks) == 5 + face_track.CHANGE_LOOKS * 5  # every frame unlike the others: the changes' bound
    looks.clear()
    data, _places = crossing("GIF")
    pixelate_bytes(data.getvalue(), 8, faces=True)
    assert 13 < len(looks) <= Limits().max_face_looks * (1 + face_track.CHANGE_LOOKS)
