"""Faces are hidden through the whole pipeline on a quick subset of the evaluation set, and the rest of the photo
is left alone within the bound the full set's figures justify (docs/faces.md); the metrics themselves can tell a
face left visible. No timing is asserted (the machine is shared)."""
from __future__ import annotations

import pytest
from PIL import Image

from pixelate.lab import face_eval, face_scenes
from pixelate.lab.face_scenes import GroundTruthFace, Scene, as_jpeg
from tests.support.paths import SAMPLES

pytestmark = pytest.mark.slow  # about 20 s: a 12 MP scene is made and pixelated

#: Changed pixels outside the faces per pixel of face ("extra": independent of how crowded a photo is). On the
#: full set at the defaults it is 0.74 on the ~500 px scenes, 0.53 on 12 MP, 0.86 and 0.61 on the two real photos
#: (docs/faces.md), nearly all of it the snapping of each box to its block grid; the quick subset gives 0.37-0.86.
#: Before the face blocks became multiples of 16 and the boxes ×1.15 it was 1.00 on the ~500 px scenes (1.02 on
#: the quick ones): the bound keeps that gain, and fails if the boxes or their snapping grow again.
MAX_EXTRA = 1.0
#: The share of a photo without people that may change: the false boxes on the motorcycles cover 0.45-0.83 %.
MAX_NEGATIVE_OUTSIDE = 0.01


@pytest.fixture(scope="module")
def quick() -> dict[str, list[dict]]:
    return face_eval.evaluate(face_scenes.build_quick(), explain=False)


def test_every_face_of_the_quick_set_is_hidden(quick):
    groups = {"astronaut", "small", "large", "negative"} | ({"camera"} if face_scenes.skimage_data_dir() else set())
    assert set(quick) == groups
    faces = [(row["name"], kind, width, cover) for rows in quick.values() for row in rows
             for (kind, width, _), hidden, cover in zip(row["faces"], row["hidden"], row["cover"]) if not hidden]
    # every face's visible part at least 88 % pixelated; one may miss 95 %: boxes come from the eyes and mouth,
    # and the synthetic faces are boxed from the hairline (the 599 px half-hidden face: 89.7 %, its forehead's top
    # strip left, docs/faces.md "Boxes from landmarks")
    assert [face for face in faces if face[3] < 0.88] == [] and len(faces) <= 1
    assert sum(len(row["faces"]) for rows in quick.values() for row in rows) >= 15
    kinds = {kind for row in quick["small"] for kind, _, _ in row["faces"]}
    assert kinds == {"plain", "rotated", "occluded"}


def test_what_changes_outside_the_faces_stays_within_the_bound(quick):
    for group in ("astronaut", "small", "large"):
        s = face_eval.summary(quick[group])
        assert 0 < s["extra"] <= MAX_EXTRA, (group, s["extra"])
        assert s["fp"] == 0, group
    for row in quick["negative"]:
        assert row["outside"] <= MAX_NEGATIVE_OUTSIDE, row["name"]
    names = {row["name"]: row for row in quick["negative"]}
    assert all(names[name]["regions"] == 0 for name in ("coffee", "chelsea", "rocket"))  # a cat is not a face


def test_the_metrics_see_a_face_left_visible_and_a_false_box():
    coffee = Image.open(SAMPLES / "coffee.png").convert("RGB")
    # a "face" where the detector finds none: not hidden, nothing changed
    row = face_eval.measure(Scene("coffee", "small", as_jpeg(coffee), [GroundTruthFace(100, 100, 60, 70, "plain")]),
                            explain=False)
    assert row["hidden"] == [False] and row["box95"] == [False] and row["outside"] == 0 and row["regions"] == 0
    # the astronaut's face found but the ground truth put elsewhere: a false box, and its pixels count as outside
    astronaut = face_scenes.astronaut_scene()
    astronaut.faces = [GroundTruthFace(10, 400, 50, 60, "plain")]
    row = face_eval.measure(astronaut, explain=True)
    assert row["hidden"] == [False] and row["fp"] == 1 and row["outside"] > 0.03 and row["boxes"] > 0


def test_scenes_are_the_same_for_a_seed_and_their_faces_lie_inside():
    first, again = face_scenes.build_quick(7, with_skimage=False), face_scenes.build_quick(7, with_skimage=False)
    assert [s.data for s in first] == [s.data for s in again]
    assert first[1].data != face_scenes.build_quick(8, with_skimage=False)[1].data
    for scene in first:
        width, height = scene.image().size
        for face in scene.faces:
            assert 0 <= face.x and 0 <= face.y and face.x + face.w <= width and face.y + face.h <= height


def test_the_report_has_a_line_per_group_and_names_the_misses(quick):
    text = face_eval.report(quick)
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["group", "imgs", "faces", "hidden"]
    assert {line.split()[0] for line in lines[1:len(quick) + 1]} == set(quick)
    assert any(line.startswith("small: plain") for line in lines)


def test_the_snapping_what_if_measures_every_rule_and_a_png_scene_keeps_the_pixels():
    astronaut = face_scenes.astronaut_scene()
    png = face_scenes.as_png_scene(astronaut)
    assert png.data.startswith(b"\x89PNG") and png.faces == astronaut.faces
    assert png.image().tobytes() == astronaut.image().tobytes()
    scene = Scene("one", "small", astronaut.data, astronaut.faces)
    header, *rows = face_eval.snapping_what_if([scene], enlarges=(1.15,))
    assert header.split()[-4:] == ["small", "large", "lfw", "camera"] and len(rows) == len(face_eval.SNAPPING)
    outside = {}
    for row, rule in zip(rows, face_eval.SNAPPING):
        *_, hidden, shares, large, lfw, camera = row.split()  # "small" is "hidden mean%/max%"; no other group here
        assert rule in row and hidden == "1/1" and (large, lfw, camera) == ("-", "-", "-")
        outside[rule] = float(shares.split("/")[0].rstrip("%"))
    exact, margin = outside["none (lossless, earlier)"], outside[f"{face_eval.EXACT_FACE_MARGIN} px more (now, lossless)"]
    assert 0 < exact < margin < outside["8 px, a DCT block (now, JPEG)"] < outside["16 px, 4:2:0 MCU (earlier)"]
