"""explore.ipynb's helpers: the two grids, the details zoomed on, the unweighted mean beside the alpha-weighted
one, frames spread over an animation, a photo stored on its side, and the hidden regions and faces."""
from __future__ import annotations

import io

from PIL import Image

from pixelate.lab import explore, hiding


def test_the_service_grid_starts_every_block_size_and_the_tutorial_grid_stretches():
    assert explore.block_edges(100, 24) == [24, 48, 72, 96]
    assert explore.block_edges(96, 24, explore.TUTORIAL) == [24, 48, 72]  # it divides: the same grid
    stretched = explore.block_edges(100, 24, explore.TUTORIAL)  # 4 samples over 100 px: blocks of 25
    assert len(stretched) == 3 and stretched != [24, 48, 72] and stretched[-1] > 72
    assert explore.tutorial_block((640, 427), 24) == (640 / 26, 427 / 17)


def test_details_are_a_face_when_one_is_found_and_the_busiest_square():
    astronaut = (explore.SAMPLES_DIR / "astronaut.png").read_bytes()
    boxes = explore.detail_boxes(astronaut)
    assert set(boxes) == {"face", "edge"}
    face, edge = boxes["face"], boxes["edge"]
    assert not (edge[0] < face[0] + face[2] and face[0] < edge[0] + edge[2]
                and edge[1] < face[1] + face[3] and face[1] < edge[1] + edge[3])  # apart
    flat = io.BytesIO()
    Image.new("RGB", (64, 64), (90, 90, 90)).save(flat, "PNG")
    assert set(explore.detail_boxes(flat.getvalue())) == {"edge"}


def test_the_unweighted_mean_lets_the_hidden_colour_in_and_the_service_does_not():
    image = Image.new("RGBA", (16, 16), (0, 0, 0, 0))  # transparent black
    image.paste((255, 255, 255, 255), (0, 0, 8, 16))  # half the block opaque white
    data = io.BytesIO()
    image.save(data, "PNG")
    weighted = explore.decode(explore.pixelate_bytes(data.getvalue(), 16).data)
    unweighted = explore.unweighted_average(image, 16)
    assert unweighted.getpixel((0, 0))[:3] == (128, 128, 128) and weighted.getpixel((0, 0))[:3] == (255, 255, 255)
    assert explore.darkening(image, unweighted, weighted) > 100


def test_frames_are_spread_from_the_first_to_the_last():
    case = explore.corpus_cases(["iss634.gif"], 16)[0]
    pairs = explore.spread_frames(case, 6)
    assert pairs[0].index == 0 and pairs[-1].index == case.before.frames - 1 and len(pairs) == 6
    assert [p.start_ms for p in pairs] == sorted(p.start_ms for p in pairs)
    assert all(p.out_index < case.after.frames for p in pairs)
    few = explore.corpus_cases(["dispose_bgnd.gif"], 16)[0]  # 5 frames: more asked than there are, all shown
    assert [p.index for p in explore.spread_frames(few, 6)] == [0, 1, 2, 3, 4]


def test_a_photo_stored_on_its_side_comes_back_upright():
    rocket = (explore.SAMPLES_DIR / "rocket.jpg").read_bytes()
    stored = explore.stored_sideways(rocket, 6)
    upright = explore.decode(rocket)
    assert explore.decode(stored, upright=False).size == upright.size[::-1]
    assert explore.decode(stored).size == upright.size
    (case,) = [c for c in explore.orientation_cases([], 8) if "orientation 6" in c.name]
    assert case.before.orientation == 6 and case.after.orientation == 1


def test_hiding_changes_pixels_only_inside_the_boxes_reported():
    astronaut = (explore.SAMPLES_DIR / "astronaut.png").read_bytes()
    view = hiding.hide("astronaut", astronaut, 16, regions=[(300, 380, 150, 100)])
    assert [box["source"] for box in view.boxes] == ["manual"] and view.asked_boxes == ((300, 380, 150, 100),)
    found = hiding.changes(view)
    assert found.outside == 0 and found.inside > 0 and found.box_pixels >= 150 * 100
    faces = hiding.hide("astronaut", astronaut, 16, faces=True)
    assert [box["source"] for box in faces.boxes] == ["face"] and hiding.changes(faces).outside == 0
    assert "pixels changed outside them: 0" in hiding.summary(faces)
    assert hiding.zoom_box({"x": 0, "y": 0, "w": 10, "h": 10}, (12, 100)) == (0, 0, 12, 14)
