"""Property tests of the block grid: random sizes, modes and block sizes, lossless formats."""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from pixelate import PixelateError, pixelate_bytes

MODES = ["L", "LA", "RGB", "RGBA", "P", "1", "I;16"]


@st.composite
def images(draw):
    mode = draw(st.sampled_from(MODES))
    width = draw(st.integers(1, 70))
    height = draw(st.integers(1, 70))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        array = rng.integers(0, 65536, (height, width), dtype=np.uint16)
        image = Image.fromarray(array)
    elif mode == "1":
        image = Image.fromarray(rng.integers(0, 2, (height, width), dtype=np.uint8) * 255).convert("1")
    elif mode == "P":
        image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).quantize(64)
    else:
        bands = len(mode)
        array = rng.integers(0, 256, (height, width, bands), dtype=np.uint8)
        if "A" in mode:  # some fully transparent and some fully opaque pixels, as real cut-outs have
            alpha = array[..., -1]
            alpha[alpha < 60] = 0
            alpha[alpha > 200] = 255
        image = Image.fromarray(array[..., 0] if bands == 1 else array, mode)
    return image


def encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def expected_block_means(image: Image.Image, size: int) -> np.ndarray:
    """The exact block means, alpha-weighted where there is alpha, computed independently with numpy."""
    if image.mode in ("1", "P"):
        image = image.convert("L" if image.mode == "1" else "RGB")
    array = np.asarray(image, dtype=np.float64)
    if array.ndim == 2:
        array = array[..., None]
    has_alpha = image.mode in ("LA", "RGBA")
    height, width = array.shape[:2]
    rows, cols = math.ceil(height / size), math.ceil(width / size)
    means = np.zeros((rows, cols, array.shape[2]))
    for r in range(rows):
        for c in range(cols):
            block = array[r * size : (r + 1) * size, c * size : (c + 1) * size].reshape(-1, array.shape[2])
            if has_alpha:
                alpha = block[:, -1:]
                colour = (block[:, :-1] * alpha).sum(0) / alpha.sum() if alpha.sum() else np.zeros(block.shape[1] - 1)
                means[r, c] = np.concatenate([colour, [alpha.mean()]])
            else:
                means[r, c] = block.mean(0)
    return means


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image=images(), size=st.integers(2, 40))
def test_average_grid_is_exact(image, size):
    result = pixelate_bytes(encode_png(image), size, "average")
    out = Image.open(io.BytesIO(result.data))
    out.load()
    assert out.size == image.size == (result.width, result.height)
    out_array = np.asarray(out.convert("RGBA") if out.mode == "P" else out, dtype=np.float64)
    if out_array.ndim == 2:
        out_array = out_array[..., None]
    means = expected_block_means(image, size)
    height, width = out_array.shape[:2]
    for r in range(means.shape[0]):
        for c in range(means.shape[1]):
            block = out_array[r * size : (r + 1) * size, c * size : (c + 1) * size].reshape(-1, out_array.shape[2])
            assert (block == block[0]).all(), "a block is not one colour"
            want, got = means[r, c], block[0]
            if image.mode in ("LA", "RGBA"):
                alpha = want[-1]
                assert abs(got[-1] - alpha) <= 1
                if alpha >= 32:  # colour of nearly invisible blocks is loose after premultiplying 8-bit values
                    assert np.abs(got[:-1] - want[:-1]).max() <= 1 + 255 / alpha
            else:
                assert np.abs(got[: len(want)] - want).max() <= 1, (want, got)


@settings(max_examples=40, deadline=None)
@given(image=images(), size=st.integers(2, 40))
def test_nearest_grid_is_flat_and_sampled_from_the_block(image, size):
    result = pixelate_bytes(encode_png(image), size, "nearest")
    out = Image.open(io.BytesIO(result.data))
    out.load()
    assert out.size == image.size
    source = image.convert({"P": "RGBA", "LA": "RGBA", "RGBA": "RGBA", "I;16": "I", "1": "L"}.get(image.mode, image.mode))
    flat = out.convert(source.mode) if out.mode != source.mode else out
    for top in range(0, image.height, size):
        for left in range(0, image.width, size):
            box = (left, top, min(left + size, image.width), min(top + size, image.height))
            colours = flat.crop(box).getcolors(size * size)
            assert colours is not None and len(colours) == 1
            sample = colours[0][1]
            assert sample in {c for _, c in source.crop(box).getcolors(size * size) or []}


@pytest.mark.parametrize("size", [0, 1, -4, 513, "abc", 2.5, None, True])
def test_invalid_sizes_are_rejected(size):
    with pytest.raises(PixelateError) as caught:
        pixelate_bytes(encode_png(Image.new("RGB", (8, 8))), size)
    assert caught.value.reason == "invalid-option"


def test_invalid_method_is_rejected():
    with pytest.raises(PixelateError) as caught:
        pixelate_bytes(encode_png(Image.new("RGB", (8, 8))), 4, "blur")
    assert caught.value.reason == "invalid-option"


def test_size_given_as_text_is_accepted():
    """Options from S3 metadata arrive as text."""
    assert pixelate_bytes(encode_png(Image.new("RGB", (8, 8))), " 4 ").width == 8


def test_16bit_grey_with_transparency_rounds_means_and_keeps_transparent_blocks():
    """16-bit grey + tRNS: opaque blocks get their rounded mean, transparent blocks stay transparent."""
    image = Image.new("I;16", (8, 4))
    image.putdata([1000, 1001, 1001, 1001, 7, 7, 7, 7] * 4)  # left block opaque (mean 1000.75), right all tRNS
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", transparency=7)
    out = Image.open(io.BytesIO(pixelate_bytes(buffer.getvalue(), 4).data))
    out.load()
    assert out.mode == "I;16" and out.info.get("transparency") == 7
    assert out.getpixel((0, 0)) == 1001
    assert out.getpixel((5, 2)) == 7


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    mode=st.sampled_from(["RGBA", "LA"]),
    width=st.integers(1, 90),
    height=st.integers(1, 90),
    size=st.integers(2, 20),
    band_pixels=st.integers(1, 3000),
    seed=st.integers(0, 2**32 - 1),
)
def test_alpha_means_in_bands_equal_one_pass(monkeypatch, mode, width, height, size, band_pixels, seed):
    # block_means premultiplies alpha images a band of block rows at a time (to bound memory); bands of
    # any height must give exactly what premultiplying the whole image gives.
    from pixelate.image import ops

    rng = np.random.default_rng(seed)
    array = rng.integers(0, 256, (height, width, len(mode)), dtype=np.uint8)
    image = Image.fromarray(array, mode)
    whole = image.convert(mode[0:-1] + "a").reduce(size).convert(mode)
    with monkeypatch.context() as patch:  # undone after each example
        patch.setattr(ops, "_BAND_PIXELS", band_pixels)
        assert ops.block_means(image, size).tobytes() == whole.tobytes()
