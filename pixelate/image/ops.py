"""Image operations, in the manner of ``PIL.ImageOps``: each a small pure function from image to image.

The pixel grid is exact: ``size``×``size`` blocks anchored at the top-left, partial blocks at the right and
bottom edges, and the output has the input's size. No I/O happens here.
"""
from __future__ import annotations

import functools
import math
from typing import Iterable

from PIL import Image

# Modes whose block mean Pillow's reduce() computes directly, and the premultiplied twin of each alpha mode:
# averaging premultiplied values weights every pixel by its alpha, so transparent pixels lend no colour.
_REDUCIBLE = {"L", "LA", "RGB", "RGBA", "CMYK", "I", "F"}
_PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}


def grid_size(width: int, height: int, size: int) -> tuple[int, int]:
    """Blocks across and down: partial blocks count, and an image smaller than a block is one block."""
    return max(1, math.ceil(width / size)), max(1, math.ceil(height / size))


def working_mode(image: Image.Image) -> Image.Image:
    """The image in a mode that block arithmetic is exact in, with transparency as an alpha channel.

    Palette, 1-bit and 16-bit images are widened rather than crushed: ``1`` becomes ``L``, ``P`` becomes
    ``RGB``/``RGBA``, ``I;16`` becomes ``I`` (keeping a transparent grey value, see ``block_means``).
    """
    mode = image.mode
    has_trns = "transparency" in image.info
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I") and has_trns:
        wide = image.convert("I") if mode != "I" else image
        wide.info["transparency"] = image.info["transparency"]
        return wide
    if mode in _REDUCIBLE and not has_trns:
        return image
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return image.convert("I")
    if mode == "1":
        return image.convert("LA") if has_trns else image.convert("L")
    if mode == "L" and has_trns:
        return image.convert("LA")
    if mode in ("P", "PA", "RGB") and (has_trns or mode == "PA" or image.has_transparency_data):
        alphas = image.info.get("transparency")
        if mode == "P" and isinstance(alphas, bytes) and len(alphas) > 256:
            # A tRNS longer than any palette breaks the spec; libpng ignores the surplus, Pillow raises.
            image = image.copy()
            image.info["transparency"] = alphas[:256]
        return image.convert("RGBA")
    if mode == "La":
        return image.convert("LA")
    if mode in ("RGBa", "RGBX", "YCbCr", "LAB", "HSV", "P"):
        return image.convert("RGBA" if mode == "RGBa" else "RGB")
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def _masked_block_means(image: Image.Image, size: int) -> Image.Image:
    """Block means of a 32-bit grey image with one transparent value (16-bit PNG ``tRNS``).

    Only opaque pixels count; a block that is mostly transparent stays transparent. An opaque block whose
    mean happens to equal the transparent value is nudged by one level so it does not vanish.
    """
    from PIL import ImageMath  # only 16-bit grey with transparency needs it

    transparent = int(image.info["transparency"])
    values = image.convert("F")
    opaque = ImageMath.lambda_eval(lambda a: a["convert"](a["v"] != transparent, "F"), v=values)
    sums = ImageMath.lambda_eval(lambda a: a["v"] * a["m"], v=values, m=opaque).reduce(size)
    counts = opaque.reduce(size)  # the opaque fraction of each block
    nudge = transparent - 1 if transparent > 0 else 1
    means = ImageMath.lambda_eval(
        lambda a: a["convert"](
            (a["c"] < 0.5) * transparent
            + (a["c"] >= 0.5) * (a["max"](a["s"] / a["max"](a["c"], 1e-9), 0) + 0.5),  # rounded, not truncated
            "I",
        ),
        s=sums,
        c=counts,
    )
    means = _avoid_value(means, counts, transparent, nudge)
    means.info["transparency"] = transparent
    return means


def _avoid_value(means: Image.Image, counts: Image.Image, value: int, replacement: int) -> Image.Image:
    """Replace ``value`` by ``replacement`` in blocks that are opaque (count ≥ 0.5)."""
    from PIL import ImageMath

    return ImageMath.lambda_eval(
        lambda a: a["convert"](
            a["m"] + (a["m"] == value) * (a["c"] >= 0.5) * (replacement - value), "I"
        ),
        m=means,
        c=counts,
    )


#: pixels premultiplied at a time: alpha images are averaged in bands of block rows, so the premultiplied
#: copy is a band (~4 MB), not a second whole image (48 MB at 12 MP)
_BAND_PIXELS = 1 << 20


def block_means(image: Image.Image, size: int) -> Image.Image:
    """One pixel per block: the block's mean colour (alpha-weighted when the image has alpha)."""
    if image.mode == "I" and "transparency" in image.info:
        return _masked_block_means(image, size)
    premultiplied = _PREMULTIPLIED.get(image.mode)
    if not premultiplied:
        return image.reduce(size) if size > 1 else image
    width, height = image.size
    band = max(1, _BAND_PIXELS // (width * size)) * size  # whole block rows
    cols, rows = grid_size(width, height, size)
    small = Image.new(premultiplied, (cols, rows))
    for top in range(0, height, band):
        part = image.crop((0, top, width, min(height, top + band))).convert(premultiplied)
        small.paste(part.reduce(size) if size > 1 else part, (0, top // size))
    return small.convert(image.mode)


def block_samples(image: Image.Image, size: int) -> Image.Image:
    """One pixel per block: the pixel at the block's centre (the classic nearest-neighbour look)."""
    width, height = image.size
    cols, rows = grid_size(width, height, size)
    small = Image.new(image.mode, (cols, rows))
    full_cols, full_rows = width // size, height // size
    # Full blocks are sampled in one resize; the partial right column and bottom row (whose centres differ)
    # are each sampled from their own strip.
    for x0, x1, nx in _spans(width, size, full_cols):
        for y0, y1, ny in _spans(height, size, full_rows):
            part = image.resize((nx, ny), Image.Resampling.NEAREST, box=(x0, y0, x1, y1))
            small.paste(part, (x0 // size, y0 // size))
    return small


def _spans(length: int, size: int, full: int) -> list[tuple[int, int, int]]:
    """(start, end, blocks) for the run of full blocks and for the partial block after it, if any."""
    spans = []
    if full:
        spans.append((0, full * size, full))
    if length > full * size:
        spans.append((full * size, length, 1))
    return spans


def block_grid(picture: Image.Image, size: int, method: str = "average", scale: int = 1) -> Image.Image:
    """One pixel per ``size``×``size`` block of ``picture``, by ``method`` (``average`` or ``nearest``).

    ``scale``: ``picture`` was decoded at 1/scale (each pixel already the mean of a scale×scale cell; only
    with ``average``, and ``scale`` divides ``size``), so its blocks are ``size // scale`` pixels across.
    """
    work = working_mode(picture)
    if scale > 1:
        return block_means(work, size // scale)
    return block_means(work, size) if method == "average" else block_samples(work, size)


def enlarge_blocks(small: Image.Image, size: int, output_size: tuple[int, int]) -> Image.Image:
    """Blow each pixel of ``small`` up to a ``size``×``size`` block and cut the result to ``output_size``."""
    width, height = output_size
    # The box makes the scale exactly 1/size, so output pixel x reads small pixel x // size; block
    # boundaries are never nearer than 0.5/size to an integer, so float rounding cannot shift the grid.
    return small.resize(output_size, Image.Resampling.NEAREST, box=(0, 0, width / size, height / size))


def pixelate(image: Image.Image, size: int, method: str = "average") -> Image.Image:
    """Pixelate ``image`` with ``size``×``size`` blocks; ``method`` is ``average`` or ``nearest``."""
    work = working_mode(image)
    small = block_means(work, size) if method == "average" else block_samples(work, size)
    return enlarge_blocks(small, size, image.size)


def pixelate_boxes(image: Image.Image, boxes: Iterable[tuple[tuple[int, int, int, int], int]], method: str = "average") -> Image.Image:
    """``image`` with each box ``(x0, y0, x1, y1)`` pixelated with its own block size; every other pixel as it was.

    A box's blocks are anchored at its top-left corner, the last of a row or column cut at its edge. Palette
    images stay palette images with their palette: a block takes the nearest colour the palette already has
    (or its transparent index), so that pixels outside the boxes keep their exact indices.
    """
    if image.mode == "P":
        return _pixelate_boxes_paletted(image, boxes, method)
    work = working_mode(image)
    if work is image:
        work = image.copy()  # the decoded frame may be shared: never change it in place
    for box, size in boxes:
        part = work.crop(box)
        work.paste(pixelate(part, size, method), box[:2])
    return work


def _pixelate_boxes_paletted(image: Image.Image, boxes, method: str) -> Image.Image:
    """``pixelate_boxes`` for a palette image: each block's colour from the original pixels (never from a box drawn
    before), then the palette index nearest to it (``_NearestIndex``).

    Only the blocks that show are worked out: where boxes overlap the one drawn last wins, so a box is pixelated
    only on the whole blocks of its own grid that reach a part of it no later box covers (``_blocks_to_draw``),
    and the colours of all the blocks are looked up at once (``_NearestIndex``). The cost is then about one pass
    over the boxes' union, whatever their number and overlap.
    """
    boxes = tuple((tuple(box), size) for box, size in boxes)
    out = image.copy()
    parts = [(part, size) for (_, size), drawn in zip(boxes, _blocks_to_draw(boxes)) for part in drawn]
    if not parts:
        return out
    nearest = _NearestIndex(image)
    if method == "average":
        grids = [block_means(image.crop(part).convert("RGBA"), size).tobytes() for part, size in parts]
        indices, width = nearest.of_colours(b"".join(grids)), 4
    else:  # the centre pixel's index, then the nearest index to its colour (itself, but for duplicates)
        grids = [block_samples(image.crop(part), size).tobytes() for part, size in parts]
        indices, width = nearest.of_indices(b"".join(grids)), 1
    start = 0
    for (part, size), grid in zip(parts, grids):  # in the order drawn
        count, shape = len(grid) // width, (part[2] - part[0], part[3] - part[1])
        small = Image.frombytes("P", grid_size(*shape, size), indices[start : start + count])
        out.paste(enlarge_blocks(small, size, shape), part[:2])
        start += count
    return out


#: most pieces a box's visible part is cut into before it is drawn whole instead (the boxes drawn after it then
#: cover what they cover again: the same output, only more work)
_MAX_PIECES = 1024
#: what drawing a part costs besides its pixels, in pixels (a dozen calls into Pillow: ~90 µs, as ~6000 pixels)
_PART_COST = 4096


@functools.lru_cache(maxsize=8)  # (an animation's frames have the same boxes: worked out once)
def _blocks_to_draw(boxes: tuple) -> list[list[tuple[int, int, int, int]]]:
    """For each ``(box, size)``, the boxes to pixelate on its own grid so that every pixel of it no later box covers
    gets its block: disjoint rectangles of whole blocks (the last of a row or column cut at the box's edge, as
    the box cuts it), or the box whole where that is less work. Drawn in order, every pixel ends with the block of
    the last box over it, as when each box is drawn whole: whatever a part covers beyond what shows of its box is
    under a later box, which draws it again (the last box over a pixel always draws it)."""
    drawn = []
    for k, (box, size) in enumerate(boxes):
        pieces = [box]
        for later, _ in boxes[k + 1 :]:
            pieces = [piece for whole in pieces for piece in _minus(whole, later)]
            if not pieces or len(pieces) > _MAX_PIECES:
                break
        if len(pieces) > _MAX_PIECES:
            drawn.append([box])
            continue
        x0, y0, x1, y1 = box
        parts: list[tuple[int, int, int, int]] = []
        for px0, py0, px1, py1 in pieces:  # each visible piece grown to the blocks of the box's grid it touches
            grown = (x0 + (px0 - x0) // size * size, y0 + (py0 - y0) // size * size,
                     min(x1, x0 - (x0 - px1) // size * size), min(y1, y0 - (y0 - py1) // size * size))
            new = [grown]
            for part in parts:  # less what earlier pieces' blocks already cover (still whole blocks)
                new = [piece for whole in new for piece in _minus(whole, part)]
            parts += new
        if len(parts) > 1 and sum(map(_area, parts)) + _PART_COST * len(parts) >= _area(box) + _PART_COST:
            parts = [box]  # (many small parts: the box whole is less work)
        drawn.append(parts)
    return drawn


def _area(box: tuple[int, int, int, int]) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def _minus(box: tuple[int, int, int, int], cut: tuple[int, int, int, int]) -> list[tuple[int, int, int, int]]:
    """``box`` less ``cut``: up to four disjoint rectangles (above, below, left and right of the cut)."""
    x0, y0, x1, y1 = box
    cx0, cy0, cx1, cy1 = max(x0, cut[0]), max(y0, cut[1]), min(x1, cut[2]), min(y1, cut[3])
    if cx0 >= cx1 or cy0 >= cy1:
        return [box]
    pieces = []
    if y0 < cy0:
        pieces.append((x0, y0, x1, cy0))
    if cy1 < y1:
        pieces.append((x0, cy1, x1, y1))
    if x0 < cx0:
        pieces.append((x0, cy0, cx0, cy1))
    if cx1 < x1:
        pieces.append((cx1, cy0, x1, cy1))
    return pieces


#: colours whose nearest entry is searched at once (a chunk's distances: this many × 256 floats)
_SEARCH_CHUNK = 1024


class _NearestIndex:
    """The palette index of ``image`` nearest to block colours: the first entry of ``_palette_entries`` with the
    least distance, as ``min`` finds it, for many colours at once. The distance between an entry and a block's
    mean colour, both RGBA: colour counts as far as both are seen (the colour of a see-through pixel does not
    matter), alpha 4× (an opaque block never takes a half-transparent entry for a close tint)::

        (min(alpha_e, alpha_c) / 255)² · |rgb_e - rgb_c|² + 4 (alpha_e - alpha_c)²

    Among opaque entries the nearest by RGB wins, as it did before alpha counted. Worked out with numpy, imported
    here: a whole-image request never needs it."""

    def __init__(self, image: Image.Image) -> None:
        import numpy

        self.np = np = numpy
        entries = _palette_entries(image)
        self.index = np.array([index for index, _ in entries], np.uint8)
        colours = np.array([colour for _, colour in entries], np.int64)
        self.alpha = colours[:, 3]
        rgb = colours[:, :3].astype(np.float64)
        self.farthest = (np.maximum(rgb, 255 - rgb) ** 2).sum(axis=1)  # the most |c - e|² of any colour c
        # (r, g, b, 1, |c|²) times these is |c|² + |e|² - 2 c·e
        self.terms = np.vstack([-2 * rgb.T, (rgb * rgb).sum(axis=1), np.ones(len(rgb))])
        self.image = image
        self.by_index = None

    def of_colours(self, rgba: bytes) -> bytes:
        """The nearest index of each RGBA colour in ``rgba`` (4 bytes a colour), as bytes."""
        np = self.np
        unique, inverse = np.unique(np.frombuffer(rgba, "<u4"), return_inverse=True)
        return self._search(unique)[inverse.reshape(-1)].tobytes()

    def of_indices(self, indices: bytes) -> bytes:
        """The nearest index to the colour of each palette index in ``indices`` (what ``convert("RGBA")`` gives
        it), as bytes."""
        np = self.np
        if self.by_index is None:
            probe = self.image.crop((0, 0, 256, 1))  # (the image's palette and transparency)
            probe.putdata(list(range(256)))
            self.by_index = np.frombuffer(self.of_colours(probe.convert("RGBA").tobytes()), np.uint8)
        return self.by_index[np.frombuffer(indices, np.uint8)].tobytes()

    def _search(self, colours):
        """The nearest index of each colour (little-endian RGBA words): the distance in the same floating-point
        steps, so that ties and near ties come out as ``min`` has them. Its colour term, the squared RGB distance,
        is the exact integer |c|² + |e|² - 2 c·e (a matrix product, exact in floats at these sizes). Where every
        entry that can win is opaque and so is the colour, the distance is that term alone, and |e|² - 2 c·e
        (the same less |c|²) has the same order and the same first minimum."""
        np = self.np
        rgba = colours.astype("<u4").view(np.uint8).reshape(-1, 4)
        found = np.empty(len(rgba), np.uint8)
        starts = [0, *(np.flatnonzero(np.diff(rgba[:, 3])) + 1).tolist(), len(rgba)]  # runs of one alpha
        for lo, hi in zip(starts, starts[1:]):
            alpha = int(rgba[lo, 3])
            seen = np.minimum(self.alpha, alpha) / 255
            weight, extra = seen * seen, (4 * (self.alpha - alpha) ** 2).astype(np.float64)
            # an entry whose alpha term alone is more than some entry's distance at its farthest never wins here
            # (a transparent index against opaque colours): left out, the rest may be all opaque
            useful = extra <= (weight * self.farthest + extra).min()
            index, weight, extra, terms = self.index[useful], weight[useful], extra[useful], self.terms[:, useful]
            plain = bool((weight == 1).all() and (extra == 0).all())  # the distance is the colour term
            for start in range(lo, hi, _SEARCH_CHUNK):
                end = min(hi, start + _SEARCH_CHUNK)
                colour = np.ones((end - start, 5))  # each colour as (r, g, b, 1, |c|²)
                colour[:, :3] = rgba[start:end, :3]
                if plain:
                    distances = colour[:, :4] @ terms[:4]  # |e|² - 2 c·e
                else:
                    colour[:, 4] = (colour[:, :3] ** 2).sum(axis=1)
                    distances = colour @ terms  # |c - e|²
                    distances *= weight
                    distances += extra
                found[start:end] = index[np.argmin(distances, axis=1)]
        return found


def _palette_entries(image: Image.Image) -> list[tuple[int, tuple[int, ...]]]:
    """Each palette index with its colour and alpha (from tRNS: one transparent index, or an alpha per index, as
    PNG8 with alpha has)."""
    palette = image.getpalette() or []
    transparency = image.info.get("transparency")
    entries = []
    for index in range(min(len(palette), 768) // 3):
        if isinstance(transparency, int):
            alpha = 0 if index == transparency else 255
        elif isinstance(transparency, bytes):
            alpha = transparency[index] if index < len(transparency) else 255
        else:
            alpha = 255
        entries.append((index, (*palette[3 * index : 3 * index + 3], alpha)))
    return entries or [(0, (0, 0, 0, 255))]

