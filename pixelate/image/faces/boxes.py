"""From what the network says of a face to the box that is pixelated.

CenterFace gives each face a box and five landmarks: the eyes, the nose tip and the mouth's corners. Its box is
a loose frame around the face (on real group photos its edges sit 0.06-0.10 of a face's width from where people
draw them, the left edge worst); the landmarks sit on the face itself. So a near-upright face is boxed from its
landmarks: the box people draw (brows to chin, cheek to cheek: dlib's hand-drawn boxes) is a fixed frame around
the eyes, reckoned in eye-to-mouth distances, and reproduces those boxes more closely than the network's own box
(docs/faces.md, "Boxes from landmarks": through the pipeline, every one of the 43 hand-drawn faces is now 97 % or
more covered, against 91 % from the network's box, for the same area around them changed).

A face turned more than ``UPRIGHT_DEGREES`` in the picture's plane, whose landmarks do not look like a face's
(a profile, a blur, a face-like thing), or that the picture's edge may cut, keeps the network's own box, as every
face did before.

Rows are what :func:`pixelate.image.faces.detector.detect_raw` gives: x1, y1, x2, y2, score, and, when the
network's landmarks came with them, ten more numbers: x, y of the left eye, right eye, nose, left and right mouth
corner (left and right as seen in the picture).
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

#: A face's box, in eye-to-mouth distances from the point between the eyes: how far its left, top, right and
#: bottom edges lie at the default enlargement (``EDGES_AT_ENLARGE``: the box is made that much smaller, then
#: enlarged about its centre like any box). On the hand-drawn boxes (brows to chin) the edges lie at 1.22, 0.70,
#: 1.19 and 1.71 on average. Here the sides get 0.10 more, for where people draw them and the landmarks' jitter;
#: the top goes up to 1.0, most of the way up the forehead (the synthetic faces are boxed up to the hairline, at
#: 1.15); and the bottom goes down to 1.9, past the chin of an open mouth (the astronaut's smile). docs/faces.md,
#: "Boxes from landmarks", has the shapes measured: brows to chin would change 1.2 points less of the real photos
#: and leave the top of every forehead.
LANDMARK_EDGES = (1.323, 1.0, 1.285, 1.9)
#: box side factor, every box's (hair, ears, the network's box jitter), about its centre. The pixelated box is
#: snapped outward to its block grid on top of this, which adds half a block on each side on average
#: (docs/faces.md: ×1.15 hides the same faces as ×1.2 on the evaluation set, with a sixth less of the area around
#: them changed; ×1.1 starts to miss)
DEFAULT_ENLARGE = 1.15
#: the enlargement the edges above are reckoned at
EDGES_AT_ENLARGE = DEFAULT_ENLARGE
#: the most a face may lean in the picture's plane and still be boxed from its landmarks: people's boxes
#: around leaning heads stay upright and tight (the hand-drawn faces lean up to 20°); a face lying on its side
#: keeps the network's box, which is drawn around whatever way the face lies
UPRIGHT_DEGREES = 30.0
#: eye-to-mouth distance as a share of the network's box width: 0.42-0.52 on the hand-drawn faces; outside this
#: range the landmarks are not where a face's are (a misfire; a face cut by the picture's edge, whose landmarks the
#: network pulls into the part it sees: 0.32 on the astronaut cut through the eyes), and the box is the network's
EYE_MOUTH_SHARE = (0.38, 0.7)
#: ... and the point between the eyes must lie within the middle of the network's box, this share of its width. A
#: turned head's eyes are off to one side: 0.56 on a turned face of the real photos, whose hand-drawn box follows
#: them (at 0.55, its network box left 7 % of it); 0.59 on the cameraman, whose box from them slides a little off
#: his near cheek (97 % of his box pixelated, against 100 % from the network's)
EYES_CENTRED = 0.6
#: a face whose network box comes this close to the picture's edge, or crosses it, may be cut by it: its landmarks
#: are drawn into the part that shows, and it keeps the network's box
EDGE_PX = 2


class Face(NamedTuple):
    """A face box in the image's pixel coordinates (already enlarged)."""

    x: int
    y: int
    w: int
    h: int
    score: float


def landmark_box(row: Sequence[float]) -> tuple[float, float, float, float] | None:
    """The box (x1, y1, x2, y2) of a near-upright face from its landmarks, sized like the network's box (to be
    enlarged as it is), or ``None`` when ``row`` has no landmarks or they do not look like an upright face's."""
    if len(row) < 15:
        return None
    x1, _y1, x2, _y2 = row[:4]
    width = x2 - x1
    eye_x, eye_y = (row[5] + row[7]) / 2, (row[6] + row[8]) / 2
    mouth_x, mouth_y = (row[11] + row[13]) / 2, (row[12] + row[14]) / 2
    distance = math.hypot(mouth_x - eye_x, mouth_y - eye_y)
    if width <= 0 or not EYE_MOUTH_SHARE[0] <= distance / width <= EYE_MOUTH_SHARE[1]:
        return None
    if abs(eye_x - (x1 + x2) / 2) > EYES_CENTRED * width / 2:
        return None
    if mouth_y <= eye_y or math.degrees(math.atan2(abs(mouth_x - eye_x), mouth_y - eye_y)) > UPRIGHT_DEGREES:
        return None
    left, top, right, bottom = (edge * distance for edge in LANDMARK_EDGES)
    centre_x, centre_y = eye_x + (right - left) / 2, eye_y + (bottom - top) / 2
    half_w, half_h = (left + right) / 2 / EDGES_AT_ENLARGE, (top + bottom) / 2 / EDGES_AT_ENLARGE
    return centre_x - half_w, centre_y - half_h, centre_x + half_w, centre_y + half_h


def to_faces(dets, size: tuple[int, int], enlarge: float | tuple[float, float]) -> list[Face]:
    """Rows of ``dets`` as Faces: each face's box (:func:`landmark_box`, or the network's), enlarged about its
    centre by ``enlarge`` (a factor, or (across, down) factors), clipped to an image of ``size``."""
    ex, ey = enlarge if isinstance(enlarge, tuple) else (enlarge, enlarge)
    width, height = size
    faces = []
    for row in dets.tolist():
        cut = min(row[0], row[1], width - row[2], height - row[3]) < EDGE_PX
        x1, y1, x2, y2 = (None if cut else landmark_box(row)) or row[:4]
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        hw, hh = (x2 - x1) * ex / 2, (y2 - y1) * ey / 2
        left, top = max(0, int(cx - hw)), max(0, int(cy - hh))
        right, bottom = min(width, int(cx + hw + 0.999)), min(height, int(cy + hh + 0.999))
        if right > left and bottom > top:
            faces.append(Face(left, top, right - left, bottom - top, round(row[4], 4)))
    return faces
