"""The JPEG fast path: when it applies, when it declines, and that its output is right in every decoder.

"Right" means: within 1.5 levels (mean absolute error per channel) of the exact block mean computed on the
fully decoded input, and close to what the general path (``pixelate_bytes(..., fast=False)``) gives.
"""
from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from pixelate import Limits, PixelateError, pixelate_bytes
from pixelate.bench.run import exact_block_means
from pixelate.image import limits
from pixelate.image.fast import jpeg_dc, jpeg_writer
from pixelate.image.orient import EXIF_TRANSPOSE
from tests.support.paths import CORPUS, SAMPLES

ERROR_BOUND = 1.5  # levels, mean absolute error per channel against the exact block mean


# ---- helpers (pure) ------------------------------------------------------------------------------------------


def decoded(data: bytes, mode: str = "RGB") -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert(mode), dtype=np.float64)


def upright_pixels(data: bytes, mode: str = "RGB") -> np.ndarray:
    """The input fully decoded and turned as displayed (EXIF orientation applied)."""
    with Image.open(io.BytesIO(data)) as im:
        turn = EXIF_TRANSPOSE.get(im.getexif().get(0x0112, 1))
        im = im.convert(mode)
        return np.asarray(im if turn is None else im.transpose(turn), dtype=np.float64)


def mean_error(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float(np.abs(a - b).mean())


def jpeg_bytes(image: Image.Image, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", **params)
    return out.getvalue()


def with_orientation(image: Image.Image, orientation: int, **params) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return jpeg_bytes(image, exif=exif.tobytes(), **params)


def smooth_photo(width: int, height: int, seed: int, mode: str = "RGB") -> Image.Image:
    """A smooth random picture with mild noise: what the fast path meets in photos."""
    rng = np.random.default_rng(seed)
    bands = 3 if mode == "RGB" else 1
    # Away from black and white: a full decode clips each pixel to 0..255, the DC term does not, and
    # saturated noise is where the two part (by design: the bound is about photos).
    coarse = rng.integers(40, 216, size=(max(2, height // 32), max(2, width // 32), bands), dtype=np.uint8)
    base = Image.fromarray(coarse.squeeze(-1) if bands == 1 else coarse, mode).resize((width, height), Image.Resampling.BICUBIC)
    pixels = np.asarray(base, dtype=np.float64) + rng.normal(0, 2, size=np.asarray(base).shape)
    return Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8), mode)


def photo_crop(width: int, height: int, seed: int, mode: str = "RGB") -> Image.Image:
    """A random window of a sample photo, upscaled to width×height (as phone photos are smooth per pixel)."""
    rng = np.random.default_rng(seed)
    names = sorted(p.name for p in SAMPLES.glob("*.*") if p.suffix in (".png", ".jpg"))
    with Image.open(SAMPLES / names[seed % len(names)]) as src:
        src = src.convert(mode)
        scale = rng.uniform(1.5, 4)
        cw, ch = min(src.width, max(4, int(width / scale))), min(src.height, max(4, int(height / scale)))
        left, top = int(rng.integers(0, src.width - cw + 1)), int(rng.integers(0, src.height - ch + 1))
        return src.crop((left, top, left + cw, top + ch)).resize((width, height), Image.Resampling.BICUBIC)


def check_fast_result(data: bytes, size: int, mode: str = "RGB", bound: float | None = ERROR_BOUND) -> None:
    """The fast path applies, and its output is upright, within ``bound`` of the exact block mean, and
    never clearly further from it than the general path (``bound=None``: only that).

    "Clearly": a quarter level, plus rounding noise. Each path rounds each block once (the fast path in
    YCbCr, which the decoder's conversion to RGB amplifies up to 1.8×); over n blocks that noise shrinks
    as 1/√n, so one-block images may differ by a level either way.
    """
    fast = jpeg_dc.pixelate_jpeg(data, size, "average", None)
    assert fast is not None
    general = pixelate_bytes(data, size, fast=False)
    assert (fast.width, fast.height, fast.format, fast.content_type, fast.frames) == (
        general.width, general.height, "JPEG", "image/jpeg", 1,
    )
    out = decoded(fast.data, mode)
    assert out.shape[:2] == (fast.height, fast.width)
    exact = exact_block_means(upright_pixels(data, mode), size)
    fast_error, general_error = mean_error(out, exact), mean_error(decoded(general.data, mode), exact)
    if bound is not None:
        assert fast_error <= bound
    blocks = -(-fast.width // size) * -(-fast.height // size)
    assert fast_error <= general_error + 0.25 + 1 / blocks**0.5


# ---- when it applies -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["flower.jpg", "hopper.jpg", "hopper_gray.jpg", "hopper_orientation_6.jpg", "exif_gps.jpg"])
@pytest.mark.parametrize("size", [8, 16, 32, 504, 512])
def test_corpus_jpegs_take_the_fast_path_and_match(name, size):
    data = (CORPUS / name).read_bytes()
    mode = "L" if "gray" in name else "RGB"
    check_fast_result(data, size, mode)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_is_upright_and_on_the_displayed_grid(orientation):
    # 96×48 with block 32: the grid only lines up with the displayed top-left if the small grid is turned.
    data = with_orientation(photo_crop(96, 48, seed=orientation), orientation, quality=95)
    fast = jpeg_dc.pixelate_jpeg(data, 32, "average", None)
    assert fast is not None
    assert (fast.width, fast.height) == ((48, 96) if orientation >= 5 else (96, 48))
    check_fast_result(data, 32)


def test_phone_photo_turned_by_exif_stays_fast():
    # A 4032×3024 phone photo shot upright: orientation 6. Scaled down 8× in each side to keep the test fast.
    data = with_orientation(photo_crop(504, 376, seed=6), 6, quality=90)
    check_fast_result(data, 16)


def test_icc_profile_is_kept_and_exif_is_dropped():
    with Image.open(CORPUS / "icc_profile_big.jpg") as im:  # 425×250: cropped to whole cells
        profile = im.info["icc_profile"]
        icc = jpeg_bytes(im.crop((0, 0, 424, 248)), quality=95, icc_profile=profile)
    assert len(profile) > 65519  # needs several APP2 chunks
    out = jpeg_dc.pixelate_jpeg(icc, 16, "average", None)
    with Image.open(io.BytesIO(out.data)) as im:
        assert im.info.get("icc_profile") == profile
    gps = jpeg_dc.pixelate_jpeg((CORPUS / "exif_gps.jpg").read_bytes(), 16, "average", None)
    with Image.open(io.BytesIO(gps.data)) as im:
        assert "exif" not in im.info and not im.getexif()
        assert b"Exif" not in gps.data and b"http://ns.adobe.com/xap" not in gps.data


JPEG_CASES = dict(
    cols=st.integers(1, 40),
    rows=st.integers(1, 40),
    size=st.sampled_from([8, 16, 24, 32, 48, 64]),
    grey=st.booleans(),
    subsampling=st.sampled_from([0, 2]),  # 4:4:4 and 4:2:0 (4:2:2 declines: see below)
    progressive=st.booleans(),
    quality=st.integers(75, 100),
    orientation=st.integers(1, 8),
    seed=st.integers(0, 2**16),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**JPEG_CASES)
def test_random_photo_jpegs_are_within_the_bound(cols, rows, size, grey, subsampling, progressive, quality, orientation, seed):
    mode = "L" if grey else "RGB"
    image = photo_crop(cols * 8, rows * 8, seed, mode)
    data = with_orientation(image, orientation, quality=quality, subsampling=subsampling, progressive=progressive)
    check_fast_result(data, size, mode)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**JPEG_CASES)
def test_random_colour_fields_are_as_good_as_the_general_path(cols, rows, size, grey, subsampling, progressive, quality, orientation, seed):
    # Strong colour changes every 32 pixels: the decoders' 4:2:0 chroma upsampling blends block edges in
    # both paths' output (about 1.5 levels here); the fast path must never do worse than the general one.
    mode = "L" if grey else "RGB"
    image = smooth_photo(cols * 8, rows * 8, seed, mode)
    data = with_orientation(image, orientation, quality=quality, subsampling=subsampling, progressive=progressive)
    check_fast_result(data, size, mode, bound=None)


def test_four_two_two_declines():
    # libjpeg decodes 4:2:2 chroma at 1/8 as one value per 16×8 and upsamples: cells' colours are off.
    data = jpeg_bytes(smooth_photo(64, 48, seed=0), quality=75, subsampling=1)
    assert jpeg_dc.pixelate_jpeg(data, 16, "average", None) is None


def test_cut_blocks_at_the_edges_are_fast():
    # 1080 rows are 67.5 blocks of 16: the last block row is cut, its 8×8 cells whole.
    check_fast_result(jpeg_bytes(photo_crop(200, 1080, seed=3), quality=92), 16)
    check_fast_result(jpeg_bytes(photo_crop(200, 72, seed=4), quality=92), 48)


# ---- when it declines ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pil_sample_cmyk.jpg", "sugarshack.mpo", "truncated_jpeg.jpg", "app13.jpg", "icc_profile_big.jpg"])
def test_declines_what_the_general_path_must_handle(name):
    assert jpeg_dc.pixelate_jpeg((CORPUS / name).read_bytes(), 16, "average", None) is None


def test_declines_options_it_does_not_do():
    data = (CORPUS / "hopper.jpg").read_bytes()
    assert jpeg_dc.pixelate_jpeg(data, 16, "nearest", None) is None
    for size in (2, 10, 12, 20):
        assert jpeg_dc.pixelate_jpeg(data, size, "average", None) is None


def test_declines_over_the_limits_so_the_general_path_rejects():
    data = (CORPUS / "hopper.jpg").read_bytes()  # 128×128
    assert jpeg_dc.pixelate_jpeg(data, 16, "average", Limits(max_pixels=128 * 128 - 1)) is None
    assert jpeg_dc.pixelate_jpeg(data, 16, "average", Limits(max_bytes=len(data) - 1)) is None
    assert jpeg_dc.pixelate_jpeg(data, 16, "average", Limits(max_total_pixels=128 * 128 - 1)) is None
    assert jpeg_dc.pixelate_jpeg(data, 16, "average", Limits(max_pixels=128 * 128)) is not None
    with pytest.raises(PixelateError) as info:
        pixelate_bytes(data, 16, limits=Limits(max_pixels=128 * 128 - 1))
    assert info.value.reason == "too-large"


@pytest.mark.parametrize("orientation", [1, 6])
def test_declines_sides_that_are_not_whole_cells(orientation):
    # A cut 8×8 cell's DC includes the encoder's padding: 3 levels off on a one-block image (425×250).
    for width, height in ((100, 64), (64, 100), (425, 250)):
        data = with_orientation(photo_crop(width, height, seed=1), orientation)
        assert jpeg_dc.pixelate_jpeg(data, 16, "average", None) is None


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9, 0.99])
def test_truncated_jpeg_never_gives_output(keep):
    data = jpeg_bytes(smooth_photo(256, 192, seed=9), quality=90, progressive=keep > 0.5)
    cut = data[: int(len(data) * keep)]
    assert jpeg_dc.pixelate_jpeg(cut, 16, "average", None) is None
    with pytest.raises(PixelateError) as info:
        pixelate_bytes(cut, 16)
    assert info.value.reason == "corrupt"


def test_declines_when_pillow_is_told_to_accept_truncated_files(monkeypatch):
    from PIL import ImageFile

    data = jpeg_bytes(smooth_photo(64, 64, seed=2))
    assert jpeg_dc.pixelate_jpeg(data, 16, "average", None) is not None
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    assert jpeg_dc.pixelate_jpeg(data[: len(data) // 2], 16, "average", None) is None


def test_rgb_coded_jpeg_declines():
    data = jpeg_bytes(smooth_photo(64, 64, seed=2), keep_rgb=True)
    assert jpeg_dc.pixelate_jpeg(data, 16, "average", None) is None


# ---- coding while decoding -----------------------------------------------------------------------------------


def coded_after_decoding(data: bytes, size: int) -> bytes | None:
    """The fast path's output the plain way: decode everything, then code (what rotated files take)."""
    grid = jpeg_dc.decode_block_grid(data, size, Limits())
    if grid is None:
        return None
    _, width, height, planes, icc = grid
    return jpeg_writer.encode_flat_jpeg(planes, width, height, size, icc)


def streaming_calls(monkeypatch, cpus: int = 2) -> list:
    """Block sizes the streaming coder was called for (as on a machine with ``cpus`` CPUs, and at any image size:
    the test photos are small, and small photos are coded after decoding)."""
    monkeypatch.setattr(jpeg_dc, "_CPUS", cpus)
    monkeypatch.setattr(jpeg_dc, "STREAM_MIN_PIXELS", 0)
    calls = []
    real = jpeg_dc._encode_while_decoding
    monkeypatch.setattr(jpeg_dc, "_encode_while_decoding", lambda *a: calls.append(a[1]) or real(*a))
    return calls


@pytest.mark.parametrize("name", ["flower.jpg", "hopper.jpg", "exif_gps.jpg"])
@pytest.mark.parametrize("size", [8, 16, 24, 32, 64, 512])
def test_coding_while_decoding_writes_the_same_bytes(name, size, monkeypatch):
    calls = streaming_calls(monkeypatch)
    data = (CORPUS / name).read_bytes()
    assert jpeg_dc.pixelate_jpeg(data, size, "average", None).data == coded_after_decoding(data, size)
    assert calls == [size]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    cols=st.integers(1, 90), rows=st.integers(1, 90), size=st.sampled_from([8, 16, 24, 32, 48]),
    subsampling=st.sampled_from([0, 2]), progressive=st.booleans(), seed=st.integers(0, 10**6),
)
def test_coding_while_decoding_matches_on_random_photos(cols, rows, size, subsampling, progressive, seed, monkeypatch):
    calls = streaming_calls(monkeypatch)
    data = jpeg_bytes(photo_crop(cols * 8, rows * 8, seed), quality=90, subsampling=subsampling, progressive=progressive)
    result = jpeg_dc.pixelate_jpeg(data, size, "average", None)
    assert result.data == coded_after_decoding(data, size) and calls[-1:] == [size]


def test_no_thread_to_be_had_still_takes_the_fast_path(monkeypatch):
    import threading

    calls = streaming_calls(monkeypatch)

    def refuse(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    data = (CORPUS / "flower.jpg").read_bytes()
    assert jpeg_dc.pixelate_jpeg(data, 16, "average", None).data == coded_after_decoding(data, 16)
    assert calls == [16]


@pytest.mark.parametrize(
    "cpu_max,affinity,expected", [("max 100000\n", 4, 4), ("150000 100000\n", 4, 2), ("50000 100000\n", 2, 1), (None, 2, 2)]
)
def test_usable_cpus_follow_the_cgroup_quota(cpu_max, affinity, expected, monkeypatch):
    def fake_open(path, *args, **kwargs):
        if cpu_max is None:
            raise FileNotFoundError(path)
        return io.StringIO(cpu_max)

    monkeypatch.setattr(limits.os, "sched_getaffinity", lambda pid: set(range(affinity)))
    monkeypatch.setattr(limits, "open", fake_open, raising=False)
    assert limits.usable_cpus() == expected


def test_small_photos_are_coded_after_decoding(monkeypatch):
    monkeypatch.setattr(jpeg_dc, "_CPUS", 2)
    calls = []
    real = jpeg_dc._encode_while_decoding
    monkeypatch.setattr(jpeg_dc, "_encode_while_decoding", lambda *a: calls.append(a[1]) or real(*a))
    small = jpeg_bytes(photo_crop(640, 480, 1), quality=90)
    assert jpeg_dc.pixelate_jpeg(small, 16, "average", None).data == coded_after_decoding(small, 16) and calls == []
    large = jpeg_bytes(photo_crop(2048, 1536, 2), quality=90)  # 3.1 MP
    assert jpeg_dc.pixelate_jpeg(large, 16, "average", None).data == coded_after_decoding(large, 16) and calls == [16]


def test_one_cpu_codes_after_decoding(monkeypatch):
    calls = streaming_calls(monkeypatch, cpus=1)
    data = (CORPUS / "flower.jpg").read_bytes()
    assert jpeg_dc.pixelate_jpeg(data, 16, "average", None).data == coded_after_decoding(data, 16)
    assert calls == []


@pytest.mark.parametrize("where", ["top", "middle", "bottom", "everywhere"])
def test_a_cell_that_looks_undecoded_is_caught(where, monkeypatch):
    # YCbCr (0, 0, 0) in the last column is what an undecoded row looks like. No camera writes it, but a
    # file can: the rows behind it only count as arrived when the decode ends, and the output is the same.
    calls = streaming_calls(monkeypatch)
    picture = np.asarray(photo_crop(256, 192, seed=4).convert("YCbCr")).copy()
    rows = {"top": slice(0, 16), "middle": slice(96, 112), "bottom": slice(176, 192), "everywhere": slice(0, 192)}[where]
    picture[rows, -16:] = 0
    data = jpeg_bytes(Image.fromarray(picture, "YCbCr"), quality=100, subsampling=2)
    for size in (8, 16, 32):
        assert jpeg_dc.pixelate_jpeg(data, size, "average", None).data == coded_after_decoding(data, size)
    assert calls == [8, 16, 32]


def test_a_failed_decode_on_the_worker_declines_and_leaves_no_thread(monkeypatch):
    import threading

    calls = streaming_calls(monkeypatch)
    data = jpeg_bytes(smooth_photo(512, 384, seed=5), quality=90)
    damaged = data[: len(data) * 3 // 4]
    assert jpeg_dc.pixelate_jpeg(damaged, 16, "average", None) is None
    assert calls == [16]
    assert not [t for t in threading.enumerate() if t.name == "jpeg-decode"]


def test_tables_from_the_top_half_give_way_where_the_halves_differ():
    # The Huffman tables come from the top half of the block rows. On a flat sky over a busy street they would
    # cost 4-8 % in size; there the whole grid's tables are used, as the plain coder does.
    street = np.asarray(smooth_photo(1024, 384, seed=6)).copy()
    street[:192] = street[:192] // 8 + 120  # a smooth, nearly flat top half
    data = jpeg_bytes(Image.fromarray(street))
    for size in (8, 16, 32):
        _, width, height, planes, _ = jpeg_dc.decode_block_grid(data, size, Limits())
        layout = jpeg_writer.flat_layout(width, height, size, 3)
        top = jpeg_writer.flat_tables(layout, planes)
        whole = jpeg_writer.better_tables(layout, planes, top)
        assert whole is not None and whole != top
        out = jpeg_dc.pixelate_jpeg(data, size, "average", None).data
        assert out == jpeg_writer.assemble_flat_jpeg(layout, whole, jpeg_writer.FlatRowCoder(layout, whole).code(planes), None)
        assert len(out) < len(jpeg_writer.assemble_flat_jpeg(layout, top, jpeg_writer.FlatRowCoder(layout, top).code(planes), None))
    # on a photo the top half's tables stay (and cost little)
    _, width, height, planes, _ = jpeg_dc.decode_block_grid((CORPUS / "flower.jpg").read_bytes(), 16, Limits())
    layout = jpeg_writer.flat_layout(width, height, 16, 3)
    assert jpeg_writer.better_tables(layout, planes, jpeg_writer.flat_tables(layout, planes)) is None


# ---- the writer ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [8, 16, 24, 32, 48])
@pytest.mark.parametrize("width,height", [(8, 8), (100, 37), (256, 128), (65, 300)])
def test_flat_writer_gives_exact_block_values(size, width, height):
    rng = np.random.default_rng(size * 1000 + width)
    cols, rows = -(-width // size), -(-height // size)
    planes = tuple(rng.integers(0, 256, cols * rows, dtype=np.uint8).tobytes() for _ in range(3))
    data = jpeg_writer.encode_flat_jpeg(planes, width, height, size)
    with Image.open(io.BytesIO(data)) as im:
        im.draft("YCbCr", None)  # the decoded YCbCr, before any colour conversion
        assert im.size == (width, height)
        ycc = np.asarray(im.convert("YCbCr"))
    expected = np.stack([np.frombuffer(p, np.uint8).reshape(rows, cols) for p in planes], axis=-1)
    expected = np.repeat(np.repeat(expected, size, 0), size, 1)[:height, :width]
    # Y is exact everywhere; 4:2:0 chroma is blended by the decoder's upsampling on the blocks' outer ring.
    assert np.array_equal(ycc[..., 0], expected[..., 0])
    inner = np.zeros((height, width), bool)
    for y in range(rows):
        for x in range(cols):
            inner[y * size + 1 : (y + 1) * size - 1, x * size + 1 : (x + 1) * size - 1] = True
    assert np.array_equal(ycc[inner][:, 1:], expected[inner][:, 1:])


@pytest.mark.parametrize("size", [8, 16, 40])
@pytest.mark.parametrize("width,height", [(8, 8), (100, 37), (65, 300)])
def test_flat_writer_grey_gives_exact_block_values(size, width, height):
    rng = np.random.default_rng(size + width)
    cols, rows = -(-width // size), -(-height // size)
    plane = rng.integers(0, 256, cols * rows, dtype=np.uint8)
    data = jpeg_writer.encode_flat_jpeg((plane.tobytes(),), width, height, size)
    with Image.open(io.BytesIO(data)) as im:
        assert (im.mode, im.size) == ("L", (width, height))
        pixels = np.asarray(im)
    expected = np.repeat(np.repeat(plane.reshape(rows, cols), size, 0), size, 1)[:height, :width]
    assert np.array_equal(pixels, expected)


def test_flat_writer_grey_and_stuffing():
    # Random grids whose entropy-coded data holds 0xFF bytes, which must be stuffed (0xFF 0x00).
    cols, rows = 64, 8
    stuffed = 0
    for seed in range(30):
        plane = np.random.default_rng(seed).integers(0, 256, cols * rows, dtype=np.uint8).tobytes()
        data = jpeg_writer.encode_flat_jpeg((plane,), cols * 8, rows * 8, 8)
        stuffed += b"\xff\x00" in data[data.index(b"\xff\xda") :]
        pixels = decoded(data, "L")
        assert np.array_equal(pixels[::8, ::8].astype(np.uint8).tobytes(), plane)
    assert stuffed >= 1


@settings(max_examples=200, deadline=None)
@given(cols=st.integers(1, 70), rows=st.integers(1, 30), step=st.integers(1, 90), seed=st.integers(0, 2**32 - 1))
def test_sampled_differences_are_every_step_th_difference(cols, rows, step, seed):
    plane = np.random.default_rng(seed).integers(0, 256, cols * rows, dtype=np.uint8).tobytes()
    assert list(jpeg_writer._sampled_differences(plane, cols, step)) == list(jpeg_writer._dc_differences(plane, cols)[::step])


def test_optimal_huffman_code_is_a_valid_jpeg_code():
    from collections import Counter

    # Fibonacci frequencies give the deepest tree: the 16-bit cap must kick in.
    fib = [1, 1]
    while len(fib) < 17:
        fib.append(fib[-1] + fib[-2])
    for freq in (Counter({0: 5}), Counter({i: 1 for i in range(12)}), Counter(dict(enumerate(fib)))):
        lengths = jpeg_writer._optimal_code(freq)
        assert set(lengths) == set(freq)
        assert max(lengths.values()) <= 16
        assert sum(2.0 ** -n for n in lengths.values()) < 1  # room left: no all-ones code
        codes = jpeg_writer._canonical_codes(lengths).values()
        assert all("0" in code for code in codes)
        assert not any(a != b and b.startswith(a) for a in codes for b in codes)  # prefix-free


# ---- every decoder reads it ----------------------------------------------------------------------------------


def fast_samples() -> list[bytes]:
    photo = smooth_photo(320, 240, seed=5)
    return [
        jpeg_dc.pixelate_jpeg(jpeg_bytes(photo, quality=90), 16, "average", None).data,  # 4:2:0
        jpeg_dc.pixelate_jpeg(jpeg_bytes(photo, quality=90), 24, "average", None).data,  # 4:4:4, cut blocks
        jpeg_dc.pixelate_jpeg(jpeg_bytes(photo.convert("L")), 8, "average", None).data,  # grey
    ]


def test_opencv_and_libvips_decode_it_as_pillow_does():
    cv2 = pytest.importorskip("cv2")
    pyvips = pytest.importorskip("pyvips")
    for data in fast_samples():
        reference = decoded(data, "RGB").astype(np.uint8)
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert bgr is not None and np.abs(bgr[..., ::-1].astype(int) - reference).max() <= 1
        image = pyvips.Image.new_from_buffer(data, "", fail=True).colourspace("srgb")
        vips = np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, image.bands))
        assert np.abs(vips[..., :3].astype(int) - reference).max() <= 1


def test_the_fast_path_module_is_light():
    # The Lambda's cold path imports the pipeline; the fast path must not drag numpy in, even when it runs, and
    # the writer is pure Python (it imports no image library at all).
    code = (
        "import sys, pixelate.image.fast.jpeg_writer; assert 'numpy' not in sys.modules and 'PIL' not in sys.modules;"
        "import pixelate.image.fast.jpeg_dc as j; assert 'numpy' not in sys.modules;"
        f"r = j.pixelate_jpeg(open({str(CORPUS / 'hopper.jpg')!r}, 'rb').read(), 16, 'average', None);"
        "assert r is not None and 'numpy' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- which path pays: the measured rule (python -m pixelate.bench.jpeg_paths) ---------------------------------


@pytest.mark.parametrize("width,height,size,streamed,fast", [
    (640, 480, 8, False, False),      # measured: the fast path 1.32x the general path's time
    (640, 480, 16, False, True),      # 0.87x
    (640, 480, 64, False, True),      # 0.62x
    (320, 240, 16, False, False),     # 1.37x: the fast path's fixed costs
    (320, 240, 64, False, False),     # 1.12x
    (1152, 864, 8, False, False),     # 1.10x
    (1152, 864, 16, False, True),     # 0.69x
    (4032, 3024, 8, False, True),     # 0.80x on one CPU
    (2048, 1536, 8, True, True),      # streamed: 0.73x
    (320, 240, 8, True, True),        # streamed: the coder's time is hidden whatever the size
])
def test_the_faster_path_is_chosen_as_measured(width, height, size, streamed, fast):
    assert jpeg_dc.faster_path(width, height, size, streamed) is fast


def test_a_small_photo_at_block_8_takes_the_general_path_and_a_larger_block_the_fast_one():
    data = jpeg_bytes(photo_crop(640, 480, 3), quality=90)
    assert jpeg_dc.pixelate_jpeg(data, 8, "average", None, only_if_faster=True) is None
    assert pixelate_bytes(data, 8).data == pixelate_bytes(data, 8, fast=False).data
    assert pixelate_bytes(data, 8).data != jpeg_dc.pixelate_jpeg(data, 8, "average", None).data
    assert pixelate_bytes(data, 16).data == jpeg_dc.pixelate_jpeg(data, 16, "average", None).data
    # the path taken keeps the error goal
    assert mean_error(decoded(pixelate_bytes(data, 8).data), exact_block_means(decoded(data), 8)) <= ERROR_BOUND


def test_without_the_rule_the_fast_path_still_takes_small_photos():
    data = jpeg_bytes(photo_crop(320, 240, 4), quality=90)
    assert jpeg_dc.pixelate_jpeg(data, 8, "average", None) is not None
    assert jpeg_dc.pixelate_jpeg(data, 8, "average", None, only_if_faster=True) is None
