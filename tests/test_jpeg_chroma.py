"""General-path JPEG output: chroma resolution follows the block size (pixelate/encode.py, save_params).

Blocks that are a multiple of 16 get 4:2:0, as the fast path's DC-only output has (what keeps it small and
fast); other sizes keep full-resolution chroma. Subsampled chroma is blended by decoders across block edges
(and, with odd sizes, averaged across them by the encoder): on saturated blocks that is ~20 levels at the
edge pixels and ~5 inside, against ~3 and ~2 with full chroma. It would make block 10 about 2.5 ms per 2 MP
faster (the tutorial code's q75 4:2:0 encode is why it is level with the project there); colour wins.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from pixelate import ops, pixelate_bytes


def saturated_blocks(size: int, cols: int = 24, rows: int = 18, seed: int = 0) -> Image.Image:
    """Blocks of strong random colours on the pixel grid: the worst case for chroma."""
    rng = np.random.default_rng(seed)
    grid = Image.fromarray(rng.integers(0, 256, (rows, cols, 3), dtype=np.uint8), "RGB")
    return ops.enlarge_blocks(grid, size, (cols * size, rows * size))


def jpeg(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=95, subsampling=0)
    return buf.getvalue()


def edge_and_interior_error(data: bytes, expected: Image.Image, size: int) -> tuple[float, float]:
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=float)
    diff = np.abs(decoded - np.asarray(expected, dtype=float)).mean(axis=2)
    offsets = np.arange(diff.shape[1]) % size
    edge_cols = (offsets == 0) | (offsets == size - 1)
    return float(diff[:, edge_cols].mean()), float(diff[:, ~edge_cols].mean())


@pytest.mark.parametrize("size", [9, 10, 11, 12, 14, 24])
def test_full_chroma_keeps_saturated_blocks_clean(size):
    source = saturated_blocks(size)
    result = pixelate_bytes(jpeg(source), size, fast=False)
    with Image.open(io.BytesIO(result.data)) as out:
        assert JpegImagePlugin.get_sampling(out) == 0  # 4:4:4
    expected = ops.pixelate(Image.open(io.BytesIO(jpeg(source))).convert("RGB"), size)
    edge, interior = edge_and_interior_error(result.data, expected, size)
    assert interior < 3.5 and edge < 6.0, (edge, interior)


@pytest.mark.parametrize("size", [16, 32])
def test_multiples_of_16_are_subsampled(size):
    result = pixelate_bytes(jpeg(saturated_blocks(size)), size, fast=False)
    with Image.open(io.BytesIO(result.data)) as out:
        assert JpegImagePlugin.get_sampling(out) == 2  # 4:2:0


@pytest.mark.parametrize("size", [9, 10, 11, 12])
def test_subsampled_chroma_would_bleed(size):
    # Why these sizes keep full chroma: the same blocks saved 4:2:0 are far worse at block edges.
    source = saturated_blocks(size)
    expected = ops.pixelate(Image.open(io.BytesIO(jpeg(source))).convert("RGB"), size)
    kept = pixelate_bytes(jpeg(source), size, fast=False).data
    buf = io.BytesIO()
    Image.open(io.BytesIO(kept)).save(buf, "JPEG", quality=90, subsampling=2)
    assert edge_and_interior_error(buf.getvalue(), expected, size)[0] > 3 * edge_and_interior_error(kept, expected, size)[0]
