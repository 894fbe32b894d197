"""Where to pixelate: the regions asked for and the faces found, as boxes of the upright image with a block size.

Geometry, the same for every format and path:

- A region in fractions becomes pixels of the upright image (rounded outward), clipped to it; a region with
  nothing left inside the image is ``invalid-option`` naming it (``Region.box``).
- Each box is pixelated with blocks anchored at its own top-left corner, the last block of a row or column cut at
  the box's edge: every pixel of a region lies inside a pixelated block, and every pixel outside the boxes keeps
  its value (lossless formats: bit-identical). The box is not grown to an image-wide grid: around a face that
  would change up to a block's width of background on every side (docs/faces.md measures it). An upright JPEG
  is edited in the DCT domain, whose smallest unit is an 8×8 block: there a region grows to whole blocks of
  every component (16 px where chroma is subsampled) and a face's box to whole 8×8 luma blocks, a subsampled
  chroma block it only partly covers being kept (``fast.jpeg_regions``); no further.
- A face gets the pixel size asked, raised so that the face spans at most ``face_blocks`` blocks across: a
  face is never left recognisable, whatever pixel size was asked (``face_blocks=0`` keeps the size as asked).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

from pixelate.image.options import Box, Options


@dataclass(frozen=True)
class Target:
    """One box to pixelate with its block size, and where it came from (``manual`` or ``face``)."""

    box: Box
    block: int
    source: str = "manual"
    score: float | None = None

    def describe(self) -> dict:
        """What ``Result.regions`` reports of it: the box actually pixelated, its block, source (and score)."""
        entry = {"x": self.box.x0, "y": self.box.y0, "w": self.box.width, "h": self.box.height,
                 "block": self.block, "source": self.source}
        if self.score is not None:
            entry["score"] = round(self.score, 3)
        return entry


def manual_targets(options: Options, width: int, height: int, first: tuple[int, int] | None = None) -> list[Target]:
    """The regions asked for, in pixels of a ``width``×``height`` upright image, with the pixel size asked (a region
    marked as a face with a face's block, ``face_block``); ``invalid-option`` for one wholly outside.

    ``first``: the size of a TIFF's first page, when this is a later page of another size. A region is then the
    same share of this page as of the first: one in pixels is of the first page (checked there), scaled by this
    page's size over the first's and rounded outward, so that a reduced copy (a preview, a pyramid's level, an
    overview) gets it on the same content; one in fractions is of this page's own size (the same share)."""
    targets = []
    for region in options.regions:
        box = region.box(width, height) if first is None or region.fraction else _scaled(region.box(*first), first, (width, height))
        targets.append(Target(box, face_block(box, options), "face") if region.face else Target(box, options.pixel_size))
    return targets


def _scaled(box: Box, first: tuple[int, int], size: tuple[int, int]) -> Box:
    """``box`` of a ``first``-sized image on one of ``size``, rounded outward (every pixel it covers, in part too)."""
    (first_width, first_height), (width, height) = first, size
    return Box(box.x0 * width // first_width, box.y0 * height // first_height,
               -(-box.x1 * width // first_width), -(-box.y1 * height // first_height))


#: A block raised for a face is a multiple of this: a multiple of 8 keeps a JPEG's face in the DCT domain's exact
#: mode, and of 16 gives its chroma (subsampled 4:2:0 in most photos, 16 px blocks) cells of the same size as its
#: luma's (they start at the first chroma block wholly inside the box: at most 8 px from the luma's cells).
FACE_BLOCK_MULTIPLE = 16


def face_block(face: Box, options: Options) -> int:
    """The block size for a face: the pixel size asked, or more, so that the face spans at most
    ``options.face_blocks`` blocks across (in its larger dimension). A block raised for a face is rounded up to a
    multiple of ``FACE_BLOCK_MULTIPLE`` (coarser only hides more)."""
    needed = math.ceil(max(face.width, face.height) / options.face_blocks) if options.face_blocks else 0
    return options.pixel_size if needed <= options.pixel_size else -(-needed // FACE_BLOCK_MULTIPLE) * FACE_BLOCK_MULTIPLE


def face_targets(faces: Iterable[tuple[Box, float]], options: Options) -> list[Target]:
    """Detected faces (box, score) as targets with their block sizes."""
    return [Target(box, face_block(box, options), "face", score) for box, score in faces]


#: Pixels added on every side of a detected face's box where boxes are pixelated exactly (every input but an
#: upright JPEG, whose boxes grow to whole 8×8 blocks instead: 3.5 px per side on average). The detector's boxes are
#: a few pixels off on small faces; without this, exact boxes hid 92 of the 100 real LFW faces where the JPEG path
#: hid 95 (``face_eval --lossless``; docs/faces.md). 2 px gives the same 95 for two thirds of the JPEG's extra area.
EXACT_FACE_MARGIN = 2


def with_exact_margin(target: Target, options: Options, width: int, height: int) -> Target:
    """``target`` as a path that pixelates boxes exactly draws it: a detected face (one with a score) grown by
    ``EXACT_FACE_MARGIN`` on every side, clipped to the ``width``×``height`` image, its block sized for the grown
    box; a region asked for (a face marked by hand too) is drawn as it was asked."""
    if target.source != "face" or target.score is None:
        return target
    box, margin = target.box, EXACT_FACE_MARGIN
    grown = Box(max(0, box.x0 - margin), max(0, box.y0 - margin), min(width, box.x1 + margin), min(height, box.y1 + margin))
    return Target(grown, face_block(grown, options), target.source, target.score)


def drawing_order(targets: list[Target]) -> list[int]:
    """The indices of ``targets``, finer blocks first, so that where boxes overlap the coarser block (a face's) is
    drawn last and wins."""
    return sorted(range(len(targets)), key=lambda index: targets[index].block)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two boxes given by their corners ``(x0, y0, x1, y1)``: 0 when they do not
    overlap, 1 when they are the same."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def describe_frames(targets: list[Target], faces_by_frame: list[list[Target]]) -> list[dict]:
    """What ``Result.regions`` reports of an animation: the ``targets`` drawn on every frame (the regions asked
    for) once, as they are, then each face box with ``frames``: ``[first, last]``, the input's frames (from 0)
    it was pixelated on. The same box (place, size and block) on consecutive frames is one entry, with the best
    score it had; a face that moves is an entry per place."""
    entries = [target.describe() for target in targets]
    open_runs: dict[tuple, dict] = {}  # the face entries of the frame before, by box
    for index, faces in enumerate(faces_by_frame):
        runs = {}
        for face in faces:
            entry = face.describe()
            key = (entry["x"], entry["y"], entry["w"], entry["h"], entry["block"])
            if key in runs:  # (two faces whose boxes came out the same: one entry)
                runs[key]["score"] = max(runs[key]["score"], entry["score"])
                continue
            run = open_runs.get(key)
            if run is None:
                run = {**entry, "frames": [index, index]}
                entries.append(run)
            run["frames"][1] = index
            run["score"] = max(run["score"], entry["score"])
            runs[key] = run
        open_runs = runs
    return entries
