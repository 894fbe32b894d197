"""Image operations, in the manner of ``PIL.ImageOps``: each a small pure function from image to image.

The pixel grid is exact: ``size``×``size`` blocks anchored at the top-left, partial blocks at the right and
bottom edges, and the output has the input's size. No I/O happens here.
"""
from __future__ import annotations

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
    out = image.copy()
    nearest: dict[tuple[int, ...], int] = {}
    entries = _palette_entries(image)

    def index_of(rgba: tuple[int, ...]) -> int:
        if rgba not in nearest:
            nearest[rgba] = min(entries, key=lambda entry: _distance(entry[1], rgba))[0]
        return nearest[rgba]

    for box, size in boxes:
        part = image.crop(box).convert("RGBA")
        grid = block_means(part, size) if method == "average" else block_samples(part, size)
        indices = Image.new("P", grid.size)
        raw = grid.tobytes()
        indices.putdata([index_of(tuple(raw[i : i + 4])) for i in range(0, len(raw), 4)])
        out.paste(enlarge_blocks(indices, size, part.size), box[:2])
    return out


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


def _distance(entry: tuple[int, ...], block: tuple[int, ...]) -> float:
    """How far a palette entry is from a block's mean colour, both RGBA: colour counts as far as both are seen
    (the colour of a see-through pixel does not matter), alpha 4× (an opaque block never takes a half-transparent
    entry for a close tint). Among opaque entries the nearest by RGB wins, as it did before alpha counted."""
    seen = min(entry[3], block[3]) / 255
    return seen * seen * sum((a - b) ** 2 for a, b in zip(entry[:3], block[:3])) + 4 * (entry[3] - block[3]) ** 2
