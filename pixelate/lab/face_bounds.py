"""How low "the area changed outside the faces" can go on photos with hand-drawn face boxes: geometry only.

    python -m pixelate.lab.face_bounds      # needs the real photos: python -m pixelate.lab.real_photos

Three figures, each for the "real" group (dlib's group photos, faces boxed by hand), each box grown to whole
8 px blocks as an upright JPEG's must be (``--cell`` to change it):

- **perfect boxes**: the hand-drawn boxes themselves. What no detector can beat on the DCT path;
- **the best reshaped box**: the detector's own boxes, each edge moved by a share of the box, over a grid of
  shapes, fitted on these same faces (in-sample: a bound on what any fixed reshaping could do, not a setting to
  adopt), the least area for each coverage asked of every face;
- **the service's boxes**: what the pipeline pixelates (near-upright faces boxed from their landmarks), grown the
  same way;
- **the spread of the hand-drawn edges** around where the detector's box puts them (standard deviation per
  edge, as a share of the hand-drawn box's width): what a margin has to absorb.

Faces are matched to the detector's boxes by the largest overlap (IoU); the detector runs as the service does
(``detect_raw`` with the default passes, ``confident``).
"""
from __future__ import annotations

import argparse
import itertools
import math
import statistics

from pixelate.image.faces.boxes import DEFAULT_ENLARGE
from pixelate.image.regions import iou
from pixelate.lab import real_photos
from pixelate.lab.face_eval import box_mask

#: the shapes tried: how far each edge moves, as a share of the detector's box (positive: outward for the sides and
#: the bottom, downward for the top)
SIDES = (0.0, 0.025, 0.05, 0.075, 0.1, 0.125)
TOPS = (-0.05, 0.0, 0.05, 0.1, 0.15)
BOTTOMS = (-0.05, 0.0, 0.05, 0.1)


def _grown(box: tuple[float, float, float, float], cell: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """``box`` grown outward to whole ``cell``-px blocks, clipped to the image."""
    x0, y0, x1, y1 = box
    width, height = size
    return (max(0, math.floor(x0 / cell) * cell), max(0, math.floor(y0 / cell) * cell),
            min(width, math.ceil(x1 / cell) * cell), min(height, math.ceil(y1 / cell) * cell))


def detections(cache: str = real_photos.CACHE) -> list[tuple[tuple[int, int], list, list]]:
    """Per real photo: its size, the detector's boxes (x0, y0, x1, y1, score) and the hand-drawn boxes."""
    from pixelate.image.faces import detector

    found = []
    for scene in real_photos.scenes(cache):
        if scene.faces:
            image = scene.image().convert("RGB")
            dets = detector.confident(detector.detect_raw(image), detector.min_face_of(image.size))
            found.append((image.size, dets.tolist(), [face.box for face in scene.faces]))
    return found


def measure(photos, boxes_of, cell: int = 8) -> tuple[list[float], list[float]]:
    """Every hand-drawn face's covered share, and each photo's share of the area outside the faces covered, when
    ``boxes_of(size, dets, truth)`` gives the boxes pixelated (grown to ``cell``)."""
    covers, outside = [], []
    for size, dets, truth in photos:
        covered = box_mask(size, (_grown(box, cell, size) for box in boxes_of(size, dets, truth)))
        faces = box_mask(size, truth)
        covers += [float(covered[y0:y1, x0:x1].mean()) for x0, y0, x1, y1 in truth]
        outside.append(float((covered & ~faces).sum() / (~faces).sum()))
    return covers, outside


def reshaped(side: float, top: float, bottom: float):
    """``boxes_of`` for the detector's boxes with their edges moved (shares of the box's width and height)."""
    def boxes_of(size, dets, truth):
        return [(x0 - side * (x1 - x0), y0 + top * (y1 - y0), x1 + side * (x1 - x0), y1 + bottom * (y1 - y0))
                for x0, y0, x1, y1, *_rest in dets]
    return boxes_of


def service_boxes(size, dets, truth):
    """``boxes_of`` for the boxes the service pixelates (``detector.boxes_to_faces`` at its defaults)."""
    import numpy as np

    from pixelate.image.faces import detector

    return [(face.x, face.y, face.x + face.w, face.y + face.h)
            for face in detector.boxes_to_faces(np.array(dets, dtype=float).reshape(-1, 15), size)]


def edge_spread(photos) -> dict[str, float]:
    """Standard deviation of each hand-drawn edge from the matched detector box's, in hand-drawn widths."""
    offsets: dict[str, list[float]] = {"left": [], "top": [], "right": [], "bottom": []}
    for _size, dets, truth in photos:
        for face in truth:
            best = max(dets, key=lambda det: iou(face, det[:4]), default=None)
            if best is None or iou(face, best[:4]) == 0:
                continue
            for name, mine, theirs in zip(offsets, face, best[:4]):
                offsets[name].append((mine - theirs) / (face[2] - face[0]))
    return {name: statistics.pstdev(values) for name, values in offsets.items()}


def report(photos, cell: int = 8) -> list[str]:
    covers, outside = measure(photos, lambda size, dets, truth: truth, cell)
    lines = [f"perfect boxes (the hand-drawn ones), grown to {cell} px: outside mean {statistics.mean(outside):.2%},"
             f" max {max(outside):.2%}"]
    shapes = []
    for side, top, bottom in itertools.product(SIDES, TOPS, BOTTOMS):
        covers, outside = measure(photos, reshaped(side, top, bottom), cell)
        shapes.append((statistics.mean(outside), min(covers), sum(c >= 0.95 for c in covers), (side, top, bottom)))
    lines.append(f"best reshaped detector box (in-sample, {len(shapes)} shapes): least outside for each coverage of every face")
    for needed in (0.8, 0.85, 0.9, 0.95):
        fitting = [shape for shape in shapes if shape[1] >= needed]
        if fitting:
            area, least, at95, (side, top, bottom) = min(fitting)
            lines.append(f"  every face >= {needed:.0%}: outside {area:.2%} (least cover {least:.0%}, {at95}/{len(covers)} at 95 %;"
                         f" sides {side:+.3f}, top {top:+.3f}, bottom {bottom:+.3f})")
        else:
            lines.append(f"  every face >= {needed:.0%}: no shape of the grid")
    covers, outside = measure(photos, service_boxes, cell)
    lines.append(f"the service's boxes (from the landmarks where the face is near upright, x{DEFAULT_ENLARGE}): outside"
                 f" {statistics.mean(outside):.2%}, least cover {min(covers):.0%},"
                 f" {sum(c >= 0.95 for c in covers)}/{len(covers)} at 95 %")
    spread = edge_spread(photos)
    lines.append("spread of the hand-drawn edges from the detector's (sd, hand-drawn widths): "
                 + ", ".join(f"{name} {value:.3f}" for name, value in spread.items()))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", default=real_photos.CACHE)
    parser.add_argument("--cell", type=int, default=8, help="the grid boxes grow to (8: an upright JPEG's faces)")
    args = parser.parse_args(argv)
    if not real_photos.available(args.cache):
        print("the real photos are not fetched: python -m pixelate.lab.real_photos")
        return 1
    print("\n".join(report(detections(args.cache), args.cell)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
