"""The numpy flat-JPEG coder (measured in the benchmark, not shipped) writes the pure-Python coder's bytes."""
from __future__ import annotations

import numpy as np
import pytest

from pixelate.bench.numpy_encoder import encode_flat_jpeg_numpy
from pixelate.image.fast import jpeg_dc


@pytest.mark.parametrize(
    "width,height,size,bands",
    [(8, 8, 8, 1), (100, 37, 8, 3), (100, 37, 24, 3), (65, 300, 16, 3), (65, 300, 48, 1), (1000, 77, 32, 3), (640, 480, 64, 3)],
)
def test_numpy_coder_writes_identical_bytes(width, height, size, bands):
    rng = np.random.default_rng(width * size + bands)
    cols, rows = -(-width // size), -(-height // size)
    # smooth grids (small differences) and random ones (every category)
    smooth = np.clip(np.cumsum(rng.integers(-3, 4, cols * rows)) + 128, 0, 255).astype(np.uint8)
    for grid in (smooth, rng.integers(0, 256, cols * rows, dtype=np.uint8)):
        planes = tuple(np.roll(grid, i).tobytes() for i in range(bands))
        assert encode_flat_jpeg_numpy(planes, width, height, size) == jpeg_dc.encode_flat_jpeg(planes, width, height, size)
