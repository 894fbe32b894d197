"""Regions on palette images (GIF, PNG8): every block gets the palette index the per-block search gives it (the first
entry of ``ops._palette_entries`` at the least ``distance`` from the block's colour), with the work done in
whole arrays and only where a block shows: a box that later boxes cover costs nothing, so 64 large overlapping
regions cost about one pass over their union (a 49 MP GIF took over 120 s, block by block and box by box)."""
from __future__ import annotations

import io
import random
import subprocess
import sys

import pytest
from PIL import Image

from pixelate import pixelate_bytes
from pixelate.image import ops


def distance(entry: tuple[int, ...], block: tuple[int, ...]) -> float:
    """How far a palette entry is from a block's mean colour, both RGBA, as ``ops._NearestIndex`` has it, the plain
    way: colour counts as far as both are seen, alpha 4×."""
    seen = min(entry[3], block[3]) / 255
    return seen * seen * sum((a - b) ** 2 for a, b in zip(entry[:3], block[:3])) + 4 * (entry[3] - block[3]) ** 2


def reference(image: Image.Image, boxes, method: str) -> Image.Image:
    """What ``ops.pixelate_boxes`` gives a palette image, the plain way: every box whole, in order, read from the
    original pixels, each block's index the ``min`` of ``distance`` over the palette's entries."""
    out = image.copy()
    entries, nearest = ops._palette_entries(image), {}
    for box, size in boxes:
        part = image.crop(box).convert("RGBA")
        grid = ops.block_means(part, size) if method == "average" else ops.block_samples(part, size)
        raw = grid.tobytes()
        colours = [tuple(raw[i : i + 4]) for i in range(0, len(raw), 4)]
        indices = Image.new("P", grid.size)
        for colour in set(colours) - nearest.keys():
            nearest[colour] = min(entries, key=lambda entry: distance(entry[1], colour))[0]
        indices.putdata([nearest[colour] for colour in colours])
        out.paste(ops.enlarge_blocks(indices, size, part.size), box[:2])
    return out


def random_palette_image(rnd: random.Random) -> Image.Image:
    """A small palette image: short or full palettes with repeated colours (ties), indices past the palette, no
    transparency, a transparent index, an alpha per index (tRNS shorter than the palette too), or an RGBA palette."""
    width, height = rnd.randrange(1, 70), rnd.randrange(1, 70)
    colours = rnd.choice([1, 2, 4, 16, 200, 256])
    image = Image.new("P", (width, height))
    image.putpalette([rnd.choice([0, 10, 128, 255, rnd.randrange(256)]) for _ in range(3 * colours)])
    image.putdata([rnd.randrange(min(256, colours + rnd.choice([0, 0, 3]))) for _ in range(width * height)])
    kind = rnd.choice(["opaque", "index", "alphas", "short alphas", "rgba palette"])
    if kind == "index":
        image.info["transparency"] = rnd.randrange(colours)
    elif kind.endswith("alphas"):
        count = colours if kind == "alphas" else rnd.randrange(colours + 1)
        image.info["transparency"] = bytes(rnd.choice([0, 1, 128, 254, 255, rnd.randrange(256)]) for _ in range(count))
    elif kind == "rgba palette":
        rgba = Image.new("RGBA", (width, height))
        rgba.putdata([(rnd.randrange(256), rnd.randrange(256), 0, rnd.choice([0, 128, 255])) for _ in range(width * height)])
        image = rgba.quantize(rnd.choice([2, 8, 64]))
    return image


def random_boxes(rnd: random.Random, width: int, height: int) -> list:
    """Boxes cut by the image's edge or not, overlapping, repeated, with blocks of several sizes."""
    boxes = []
    for _ in range(rnd.randrange(1, 10)):
        x0, y0 = rnd.randrange(width), rnd.randrange(height)
        boxes.append(((x0, y0, rnd.randrange(x0 + 1, width + 1), rnd.randrange(y0 + 1, height + 1)),
                      rnd.choice([2, 2, 3, 4, 7, 16, 33])))
    if rnd.random() < 0.3:
        boxes.append(rnd.choice(boxes))
    if rnd.random() < 0.3:
        boxes.append(((0, 0, width, height), rnd.choice([2, 5])))
    if rnd.random() < 0.5:
        boxes.sort(key=lambda box: box[1])  # (drawing order: finer blocks first)
    return boxes


@pytest.mark.parametrize("seed", range(4))
def test_palette_boxes_give_every_block_the_index_the_per_block_search_gives_it(seed):
    rnd = random.Random(seed)
    for _ in range(60):
        image = random_palette_image(rnd)
        boxes = random_boxes(rnd, *image.size)
        for method in ("average", "nearest"):
            got, expected = ops.pixelate_boxes(image, boxes, method), reference(image, boxes, method)
            assert got.mode == "P" and got.tobytes() == expected.tobytes(), (image.size, image.info, boxes, method)
            assert got.getpalette() == image.getpalette() and got.info.get("transparency") == image.info.get("transparency")


def test_near_ties_between_entries_come_out_as_the_per_block_search_has_them():
    # one colour at equal distance from two entries (the first wins), entries that differ only in alpha, and a
    # half-transparent block between a see-through entry and opaque ones: the float steps of the distance decide
    image = Image.new("P", (8, 2))
    image.putpalette([0, 0, 0, 2, 2, 2, 2, 2, 2, 1, 1, 1, 255, 255, 255, 0, 0, 0])
    image.info["transparency"] = bytes([255, 255, 128, 255, 1, 0])
    image.putdata([0, 1, 0, 1, 2, 3, 4, 5, 1, 0, 3, 3, 5, 5, 2, 4])
    boxes = [((0, 0, 8, 2), 2), ((1, 0, 8, 2), 2), ((0, 0, 3, 2), 3), ((2, 0, 8, 1), 4)]
    for method in ("average", "nearest"):
        for order in (boxes, boxes[::-1]):
            assert ops.pixelate_boxes(image, order, method).tobytes() == reference(image, order, method).tobytes()


def test_boxes_that_later_boxes_cover_cost_nothing(monkeypatch):
    """The review's 64 regions, each 1 px in from the one before: before, every box was pixelated whole (64 times
    the image's blocks); now about the blocks of their union, plus the two slivers each box shows."""
    rnd = random.Random(5)
    image = Image.new("P", (240, 200))
    image.putpalette([rnd.randrange(256) for _ in range(768)])
    image.putdata([(x * x + 3 * y * y) & 255 for y in range(200) for x in range(240)])
    image.info["transparency"] = 3
    boxes = [((i, 0, 240 - i, 200), 2) for i in range(64)]
    worked = []  # every grid of blocks worked out
    for name in ("block_means", "block_samples"):
        real = getattr(ops, name)
        monkeypatch.setattr(ops, name, lambda picture, size, real=real: worked.append(real(picture, size)) or worked[-1])
    union = (240 // 2) * (200 // 2)
    for method in ("average", "nearest"):
        worked.clear()
        got = ops.pixelate_boxes(image, boxes, method)
        blocks = sum(grid.width * grid.height for grid in worked)
        assert union <= blocks <= union + 2 * 64 * (200 // 2), blocks  # (whole boxes: 64 × ~11 000 blocks)
        assert got.tobytes() == reference(image, boxes, method).tobytes()


def test_many_large_regions_on_a_palette_image_through_the_pipeline():
    """A 1200×1000 palette PNG with an alpha per index and 64 overlapping regions at pixel size 2 (block by block it
    took seconds; whole boxes of 300 000 blocks each): outside the regions every index is kept, inside every block
    is what the per-block search gives (drawn in the order asked: the same block size)."""
    rnd = random.Random(9)
    image = Image.new("P", (1200, 1000))
    image.putpalette([rnd.randrange(256) for _ in range(768)])
    image.putdata([(x * 7 + (y * y >> 3)) & 255 for y in range(1000) for x in range(1200)])
    alphas = bytes(rnd.choice([0, 128, 255, 255]) for _ in range(256))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", transparency=alphas)
    regions = ";".join(f"{i * 7},{i * 3},{1200 - i * 13},{1000 - i * 11}" for i in range(64))
    result = pixelate_bytes(buffer.getvalue(), 2, regions=regions)
    after = Image.open(io.BytesIO(result.data))
    boxes = [((i * 7, i * 3, i * 7 + 1200 - i * 13, i * 3 + 1000 - i * 11), 2) for i in range(64)]
    boxes = [((x0, y0, min(x1, 1200), min(y1, 1000)), size) for (x0, y0, x1, y1), size in boxes]
    loaded = Image.open(buffer)
    loaded.load()
    expected = ops.pixelate_boxes(loaded, boxes, "average")  # (against the reference on a crop, below)
    assert after.convert("RGBA").tobytes() == expected.convert("RGBA").tobytes()
    # the top-left corner, where the boxes overlap most (the last one's blocks on top), against the reference on a
    # crop of it (blocks cut by the crop's edge differ: compared short of it)
    small = loaded.crop((0, 0, 200, 160))
    small.info = dict(loaded.info)
    clipped = [((x0, y0, min(x1, 200), min(y1, 160)), size) for (x0, y0, x1, y1), size in boxes if x0 < 200 and y0 < 160]
    inner = (0, 0, 196, 156)
    assert expected.crop(inner).tobytes() == reference(small, clipped, "average").crop(inner).tobytes()


def test_importing_the_pipeline_does_not_import_numpy():
    """A whole-image request (the Lambda's cold path) never needs numpy: the palette search imports it itself."""
    code = "import sys, pixelate.image.pipeline; print('numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
