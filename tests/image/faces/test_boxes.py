"""From the network's box and landmarks to the face box pixelated: near-upright faces are boxed around their eyes
and mouth, the others keep the network's box; one face's landmarks from several detections are averaged."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from pixelate.image.faces import boxes, detector
from tests.support.paths import SAMPLES

DEFAULT = boxes.EDGES_AT_ENLARGE


def face_row(eyes=((130, 150), (170, 150)), nose=(150, 170), mouth=((135, 190), (165, 190)),
             box=(100, 110, 200, 220), score=0.9) -> list[float]:
    """A detection row: box, score, then the five landmarks (an upright face: eyes 40 px above the mouth)."""
    return [*box, score, *eyes[0], *eyes[1], *nose, *mouth[0], *mouth[1]]


def turned(row: list[float], degrees: float, about=(150, 165)) -> list[float]:
    """``row``'s landmarks turned about ``about`` (its box left as it is)."""
    cos, sin = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    points = np.array(row[5:]).reshape(5, 2) - about
    return [*row[:5], *(points @ np.array([[cos, sin], [-sin, cos]]) + about).ravel().tolist()]


def test_an_upright_face_is_boxed_around_its_eyes_and_mouth_at_the_edges_people_draw():
    [face] = boxes.to_faces(np.array([face_row()]), (400, 400), DEFAULT)
    left, top, right, bottom = boxes.LANDMARK_EDGES  # eye-to-mouth distances (40 px) from the eyes' midpoint
    assert (face.x, face.y, face.x + face.w, face.y + face.h) == pytest.approx(
        (150 - 40 * left, 150 - 40 * top, 150 + 40 * right, 150 + 40 * bottom), abs=1)
    # the network's box plays no part but for telling a face from a misfire: moved a little, the same face box
    assert boxes.to_faces(np.array([face_row(box=(98, 120, 202, 215))]), (400, 400), DEFAULT) == [face]
    # and it is enlarged about its centre like any box
    [wider] = boxes.to_faces(np.array([face_row()]), (400, 400), DEFAULT * 1.2)
    assert wider.w == pytest.approx(face.w * 1.2, abs=2) and wider.h == pytest.approx(face.h * 1.2, abs=2)


def test_a_leaning_head_is_boxed_upright_around_its_landmarks():
    """People box a leaning head with an upright box as tight as an upright one's (the hand-drawn faces lean up
    to 20°): the box follows the eyes and mouth, it is not the turned box's bounding box."""
    upright = boxes.landmark_box(face_row())
    leaning = boxes.landmark_box(turned(face_row(), 20))
    assert leaning is not None
    assert leaning[2] - leaning[0] == pytest.approx(upright[2] - upright[0], rel=0.01)


@pytest.mark.parametrize("row", [
    face_row()[:5],                                                   # no landmarks: a row of old
    turned(face_row(), 45),                                           # lying on its side
    turned(face_row(), 180),                                          # upside down
    face_row(eyes=((180, 150), (195, 150)), mouth=((182, 190), (196, 190))),  # eyes at the box's edge: a profile
    face_row(mouth=((140, 158), (160, 158))),                         # mouth 8 px under the eyes: no face's shape
    face_row(mouth=((135, 240), (165, 240))),                         # ... or 90 px
], ids=["no landmarks", "lying", "upside down", "profile", "squashed", "stretched"])
def test_a_face_whose_landmarks_are_not_an_upright_faces_keeps_the_networks_box(row):
    assert boxes.landmark_box(row) is None
    [face] = boxes.to_faces(np.array([row]), (400, 400), 1.0)
    assert (face.x, face.y, face.x + face.w, face.y + face.h) == (100, 110, 200, 220)


def test_a_box_is_clipped_to_the_picture():
    [face] = boxes.to_faces(np.array([face_row()]), (170, 160), DEFAULT)
    assert face.x + face.w <= 170 and face.y + face.h <= 160 and face.w > 0 and face.h > 0


def test_one_faces_landmarks_from_several_detections_are_averaged_by_score():
    best = face_row(score=0.9)
    other = face_row(eyes=((134, 154), (174, 154)), score=0.3)  # the same face, its eyes 4 px off
    elsewhere = face_row(box=(300, 300, 350, 360), eyes=((310, 320), (340, 320)), score=0.5)
    kept = detector.nms(np.array([other, best, elsewhere], dtype=np.float32))
    assert kept[:, 4].tolist() == pytest.approx([0.9, 0.5])
    assert kept[0, 5:7].tolist() == pytest.approx([131, 151])  # (0.9 · 130 + 0.3 · 134) / 1.2
    assert kept[1, 5:7].tolist() == [310, 320]  # another face's are its own


def test_a_face_the_pictures_edge_may_cut_keeps_the_networks_box():
    """The network draws a cut face's landmarks into the part that shows (the astronaut cut through the eyes:
    her eyes 17 px low), and a box from them would leave the chin and forehead: a box at the edge is the network's."""
    for size, row in [((400, 218), face_row()),                     # its box's bottom (220) past the picture's
                      ((400, 400), face_row(box=(100, 1, 200, 220))),  # its top a pixel from the picture's
                      ((199, 400), face_row(box=(100, 110, 200, 220)))]:
        [face] = boxes.to_faces(np.array([row]), size, 1.0)
        assert (face.x, face.y, face.x + face.w) == (100, row[1], min(200, size[0])), size
    [inside] = boxes.to_faces(np.array([face_row()]), (400, 400), 1.0)
    assert (inside.x, inside.y) != (100, 110)  # two pixels and more from every edge: from the landmarks


def test_a_face_cut_by_the_edge_is_hidden_as_much_as_before():
    """The review's repro: the astronaut cut just under her eyes by the top of the picture had 77 % of what shows
    of her face (boxed from the hairline) pixelated, all of it with the network's box; cut at the chin, 96 %."""
    from pixelate import pixelate_bytes

    image = Image.open(SAMPLES / "astronaut.png").convert("RGB")
    for crop, face in [((0, 118, 512, 512), (178, 0, 272, 62)), ((0, 0, 512, 152), (178, 60, 272, 152))]:
        buffer = io.BytesIO()
        image.crop(crop).save(buffer, "JPEG", quality=92)
        result = pixelate_bytes(buffer.getvalue(), 16, faces=True)
        x0, y0, x1, y1 = face
        covered = np.zeros((y1 - y0, x1 - x0), bool)
        for r in result.regions:
            covered[max(0, r["y"] - y0):max(0, r["y"] + r["h"] - y0), max(0, r["x"] - x0):max(0, r["x"] + r["w"] - x0)] = True
        assert covered.mean() >= 0.98, (crop, covered.mean())


def test_another_faces_landmarks_are_not_averaged_in():
    """Two heads whose boxes overlap (IoU 0.6): the second's eyes are 25 px off the first's, so its landmarks are
    its own face's, not a jittered copy of the first's."""
    front = face_row(score=0.9)
    behind = face_row(box=(125, 110, 225, 220), eyes=((155, 150), (195, 150)), nose=(175, 170),
                      mouth=((160, 190), (190, 190)), score=0.85)
    [kept] = detector.nms(np.array([front, behind], dtype=np.float32))
    assert kept[5:].tolist() == pytest.approx(front[5:])


def test_the_mirrored_pass_gives_the_same_landmarks_in_the_same_order():
    """A flipped copy's detections are put back: x mirrored, and left and right eye (and mouth corner) swapped,
    since the left eye of the mirror image is the right one of the photo."""
    image = Image.open(SAMPLES / "astronaut.png").convert("RGB")
    plain = detector._run(image, 0.5)
    both = detector._run(image, 0.5, flip=True)  # the plain pass's rows, then the mirror image's
    assert np.array_equal(both[:len(plain)], plain)
    plain, mirrored = (rows[np.argmax(rows[:, 4])] for rows in (plain, both[len(plain):]))
    assert plain[5] < plain[7] and mirrored[5] < mirrored[7]  # left eye left of the right eye in both
    assert plain[11] < plain[13] and mirrored[11] < mirrored[13]  # and the mouth's corners
    assert np.abs(plain[:4] - mirrored[:4]).max() < 6 and np.abs(plain[5:] - mirrored[5:]).max() < 6


def test_the_edges_are_reckoned_at_the_enlargement_every_box_gets():
    assert boxes.EDGES_AT_ENLARGE == detector.DEFAULT_ENLARGE
