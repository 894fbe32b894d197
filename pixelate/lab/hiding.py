"""Hiding parts of a photo, for the notebooks: regions (in pixels or fractions) and faces, through the public
``pixelate_bytes``, and what changed: the boxes the service reports (``Result.regions``), a map of changed
pixels, and counts inside and outside those boxes.

The boxes drawn are always the ones the result reports, never recomputed here: how a region becomes a box is
the image layer's business, and a notebook follows whatever it does.
"""
from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageChops

from pixelate.image.options import parse_options
from pixelate.image.pipeline import pixelate_bytes
from pixelate.image.result import Result
from pixelate.lab.explore import decode


@dataclass(frozen=True)
class Hidden:
    """One photo with parts hidden: how they were asked for (a label), the input, the service's result and the
    regions asked, in pixels of the upright image (as the options parser reads them; faces are found, not asked)."""

    name: str
    asked: str
    original: bytes
    result: Result
    asked_boxes: tuple[tuple[int, int, int, int], ...] = ()

    @property
    def boxes(self) -> list[dict]:
        """What was pixelated, as the result reports it: ``{x, y, w, h, block, source[, score]}`` each."""
        return list(self.result.regions)


def hide(name: str, data: bytes, size: int = 16, regions: object = None, faces: bool = False) -> Hidden:
    """``pixelate_bytes(data, size, regions=regions, faces=faces)``, labelled with what was asked."""
    asked = []
    if regions is not None:
        asked.append(f"regions={regions!r}" if not isinstance(regions, str) else f"regions={regions}")
    if faces:
        asked.append("faces=True")
    result = pixelate_bytes(data, size, regions=regions, faces=faces)
    boxes = tuple((b.x0, b.y0, b.width, b.height) for b in
                  (region.box(result.width, result.height) for region in parse_options(size, regions=regions).regions))
    return Hidden(name, ", ".join(asked) or "whole image", data, result, boxes)


def changed_mask(before: Image.Image, after: Image.Image) -> Image.Image:
    """An "L" image: 255 where any channel of the two images differs, 0 where they are identical."""
    if before.size != after.size:
        raise ValueError(f"sizes differ: {before.size} and {after.size}")
    difference = ImageChops.difference(before.convert("RGBA"), after.convert("RGBA"))
    channels = difference.split()
    combined = channels[0]
    for channel in channels[1:]:
        combined = ImageChops.lighter(combined, channel)
    return combined.point(lambda value: 255 if value else 0)


def inside_boxes(size: tuple[int, int], boxes: list[dict]) -> Image.Image:
    """An "L" image of ``size``: 255 inside any of ``boxes``, 0 elsewhere."""
    mask = Image.new("L", size, 0)
    for box in boxes:
        mask.paste(255, (box["x"], box["y"], box["x"] + box["w"], box["y"] + box["h"]))
    return mask


@dataclass(frozen=True)
class Changes:
    """Pixels changed inside and outside the pixelated boxes, and how many pixels the boxes cover."""

    inside: int
    outside: int
    box_pixels: int
    total_pixels: int


def changes(hidden: Hidden) -> Changes:
    """Count the changed pixels of ``hidden`` inside and outside the boxes its result reports."""
    before, after = decode(hidden.original), decode(hidden.result.data)
    changed = changed_mask(before, after)
    boxes = inside_boxes(before.size, hidden.boxes)
    inside = ImageChops.multiply(changed, boxes)
    outside = ImageChops.subtract(changed, boxes)
    return Changes(_count(inside), _count(outside), _count(boxes), before.width * before.height)


def _count(mask: Image.Image) -> int:
    return mask.histogram()[255]


def zoom_box(box: dict, size: tuple[int, int], margin: float = 0.4) -> tuple[int, int, int, int]:
    """``box`` grown by ``margin`` of its larger side on every side (so the border between hidden and untouched
    shows), clipped to an image of ``size``: ``(x, y, w, h)``."""
    pad = round(max(box["w"], box["h"]) * margin)
    left, top = max(0, box["x"] - pad), max(0, box["y"] - pad)
    right, bottom = min(size[0], box["x"] + box["w"] + pad), min(size[1], box["y"] + box["h"] + pad)
    return left, top, right - left, bottom - top


def summary(hidden: Hidden) -> str:
    """One line per photo: what was asked, how many boxes (by source), and the pixels changed outside them."""
    found = changes(hidden)
    sources: dict[str, int] = {}
    for box in hidden.boxes:
        sources[box["source"]] = sources.get(box["source"], 0) + 1
    kinds = ", ".join(f"{n} {source}" for source, n in sorted(sources.items())) or "none"
    share = found.box_pixels / found.total_pixels
    return (f"{hidden.name} ({hidden.asked}): boxes pixelated: {kinds}; they cover {share:.0%} of the image;"
            f" pixels changed outside them: {found.outside}")
