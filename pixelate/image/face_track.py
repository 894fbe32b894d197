"""Faces through an animation: which frames the detector looks at, and the face boxes of the frames between.

Looking costs a detection per frame (26 ms for a 240×180 frame here, 90 ms for 480×360, 170 ms for 1000×750), so
the frames are chosen in three ways, and every other frame takes its boxes from the two looks around it:

- **The cadence**: every frame of an animation of up to ``SPREAD`` frames, else ``SPREAD`` frames spread evenly
  over it and its last (:func:`first_looks`).
- **Changes**: every frame whose content differs from both looks around it, by more than ``CHANGE_LEVELS`` in
  some cell of its :func:`signature` (a greyscale thumbnail in cells of a quarter of the smallest face the
  detector finds), is looked at too, the most different first, each new look then standing for the frames like
  it (:func:`changed`). A face that comes into view changes a cell by 68 levels or more (a 30 px face on a
  skin-coloured background; 90-190 on others), so a frame left out, within ``CHANGE_LEVELS`` of one of its looks
  in every cell, holds no face that look lacks but one too faint to change a cell that much. At most
  ``CHANGE_LOOKS`` times the caller's ``Limits.max_face_looks`` of these looks (72 by default; a 60-frame
  slideshow, every frame another photo, needs 47): past that, frames still unlike their looks are not looked at.
- **Disagreements**: where two neighbouring looks disagree (a face moved by more than a third of its box, came or
  went), the frame halfway between, the widest gaps first, until they agree or the caller's budget is spent
  (``Limits.max_face_looks``, 36 by default, counting the cadence) (:func:`halfway`).

A frame between two looks pairs the faces of the two (by overlap, then the nearest left, however far) and takes,
for each pair, the box spanning both places (a face moving in a straight line between them stays inside it), and
each face left over where it was: every box of both looks is covered.

What this cannot see: a face too faint to change a cell by ``CHANGE_LEVELS``; two faces that cross between looks
that see them swapped, place for place, on frames like those looks (the looks agree, and each box stays put); and
past the looks for changes' bound, a face on a frame unlike its looks.

Geometry on :class:`regions.Target` and signatures: the decoding and the detector are the caller's
(``region_steps``).
"""
from __future__ import annotations

from bisect import bisect_left, insort
from typing import Iterable

from PIL import Image, ImageChops

from pixelate.image import regions
from pixelate.image.options import Box, Options

#: frames looked at first, spread evenly over the animation (its first and last among them)
SPREAD = 12
#: two looks agree on a face when its boxes overlap by at least this IoU (moved by less than about a third of it)
AGREE_IOU = 0.5
#: a frame is like a look when no cell of their signatures differs by more than this (grey levels): a face coming
#: into view changes one by 68 or more; frames of a real clip differ from the next by 1-7 (tests/corpus/iss634.gif)
CHANGE_LEVELS = 24
#: the looks for changes allowed per look of the caller's budget (``Limits.max_face_looks``): 72 by default,
#: 10 for POST /api/pixelate's 5. Each costs a detection: a 200-frame 480×360 pan, every frame unlike its looks,
#: took 86 looks and 19.9 s of CPU here, against 22 and 7.2 s before them (docs/faces.md has the other sizes).
CHANGE_LOOKS = 2


def most_looks(max_face_looks: int) -> int:
    """Most frames or pages looked at for faces under a budget of ``max_face_looks`` (``Limits.max_face_looks``):
    the cadence and halfway looks, and the looks for changes (108 by default, 15 for ``POST /api/pixelate``)."""
    return (1 + CHANGE_LOOKS) * max_face_looks


def first_looks(count: int, most: int = SPREAD + 1) -> list[int]:
    """The frames of a ``count``-frame animation to look at first: every frame up to ``SPREAD``, else ``SPREAD``
    spread evenly, and the last; never more than ``most`` (at least the first and the last)."""
    spread = max(1, min(SPREAD, most - 1))
    step = max(1, -(-count // spread))
    return sorted(set(range(0, count, step)) | {count - 1})


def signature(picture: Image.Image, smallest_face: float) -> Image.Image:
    """What ``picture`` (a frame as the detector sees it) looks like, to tell whether a face may have come: its
    greyscale thumbnail in cells of a quarter of ``smallest_face`` (the smallest face the detector finds in it),
    so that such a face covers whole cells and its eyes, mouth and hair change them (each cell its mean)."""
    cell = max(1, int(smallest_face // 4))
    return picture.convert("L").reduce(cell)


def changed(signatures: list[Image.Image], looked: Iterable[int], most: int) -> list[int]:
    """The frames to look at for changes: those whose signature differs by more than ``CHANGE_LEVELS`` in some cell
    from each of the two looks around them. Picked one at a time, the most different first (so that a budget of
    ``most`` goes where content changed most), each pick then a look the frames around it are compared with."""
    looks = sorted(looked)
    if most <= 0 or len(looks) < 2:
        return []
    unlike: dict[int, int] = {}  # frame → how far it is from the nearer, in signature, of its two looks

    def compare(first: int, last: int) -> None:
        for frame in range(first + 1, last):
            unlike[frame] = min(_difference(signatures[frame], signatures[first]),
                                _difference(signatures[frame], signatures[last]))

    for first, last in zip(looks, looks[1:]):
        compare(first, last)
    picks: list[int] = []
    while len(picks) < most and unlike:
        frame = max(unlike, key=unlike.__getitem__)  # (ties: the earliest compared)
        if unlike[frame] <= CHANGE_LEVELS:
            break
        position = bisect_left(looks, frame)
        first, last = looks[position - 1], looks[position]
        insort(looks, frame)
        picks.append(frame)
        del unlike[frame]
        compare(first, frame)
        compare(frame, last)
    return sorted(picks)


def halfway(looked: dict[int, list[regions.Target]], budget: int) -> list[int]:
    """The frames halfway between neighbouring looks that disagree (widest gaps first), at most ``budget``."""
    keys = sorted(looked)
    gaps = [(b - a, a, b) for a, b in zip(keys, keys[1:]) if b - a > 1 and not _agree(looked[a], looked[b])]
    gaps.sort(key=lambda gap: (-gap[0], gap[1]))
    return sorted((a + b) // 2 for _width, a, b in gaps[:max(0, budget)])


def per_frame(looked: dict[int, list[regions.Target]], count: int, options: Options) -> list[list[regions.Target]]:
    """The face targets of each of ``count`` frames: a looked-at frame's own, and between two looks the boxes
    :func:`between` them (the same objects for every frame of a gap, so the report lists them once)."""
    keys = sorted(looked)
    frames, spans = [], {}
    for index in range(count):
        before = max(key for key in keys if key <= index)
        after = min(key for key in keys if key >= index)
        if before == after:
            frames.append(looked[index])
            continue
        if (before, after) not in spans:
            spans[before, after] = between(looked[before], looked[after], options)
        frames.append(spans[before, after])
    return frames


def between(before: list[regions.Target], after: list[regions.Target], options: Options) -> list[regions.Target]:
    """The face boxes of a frame between two looks: for each face seen at both (:func:`_match`: by overlap, then
    the nearest of those left, however far: hiding too much is the safe side), the box that spans both places,
    its block sized for it; each face seen at only one of them, as it was."""
    pairs, alone_before, alone_after = _match(before, after, same_face=True)
    spanning = []
    for i, j in pairs:
        a, b = before[i].box, after[j].box
        hull = Box(min(a.x0, b.x0), min(a.y0, b.y0), max(a.x1, b.x1), max(a.y1, b.y1))
        score = max(before[i].score or 0.0, after[j].score or 0.0)
        spanning.append(regions.Target(hull, regions.face_block(hull, options), "face", score))
    return spanning + [before[i] for i in alone_before] + [after[j] for j in alone_after]


def _agree(before: list[regions.Target], after: list[regions.Target]) -> bool:
    pairs, alone_before, alone_after = _match(before, after, same_face=False)
    return not alone_before and not alone_after and all(
        regions.iou(before[i].box.corners, after[j].box.corners) >= AGREE_IOU for i, j in pairs)


def _match(before, after, same_face: bool):
    """Pairs (i, j) of the same face: greedily by overlap, largest first; with ``same_face``, then the boxes left
    by their centres' distance, nearest first. And the indices left alone."""
    candidates = sorted(((regions.iou(a.box.corners, b.box.corners), i, j)
                         for i, a in enumerate(before) for j, b in enumerate(after)),
                        key=lambda c: -c[0])
    pairs, used_before, used_after = [], set(), set()
    for overlap, i, j in candidates:
        if overlap > 0 and i not in used_before and j not in used_after:
            pairs.append((i, j))
            used_before.add(i)
            used_after.add(j)
    if same_face:
        by_distance = sorted((_distance(a.box, b.box), i, j) for i, a in enumerate(before) for j, b in enumerate(after)
                             if i not in used_before and j not in used_after)
        for _apart, i, j in by_distance:
            if i not in used_before and j not in used_after:
                pairs.append((i, j))
                used_before.add(i)
                used_after.add(j)
    return (pairs, [i for i in range(len(before)) if i not in used_before],
            [j for j in range(len(after)) if j not in used_after])


def _difference(a: Image.Image, b: Image.Image) -> int:
    """The largest difference of any cell of two signatures (grey levels)."""
    return ImageChops.difference(a, b).getextrema()[1]


def _distance(a: Box, b: Box) -> float:
    return (((a.x0 + a.x1) - (b.x0 + b.x1)) ** 2 + ((a.y0 + a.y1) - (b.y0 + b.y1)) ** 2) ** 0.5 / 2
