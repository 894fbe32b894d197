"""PNG fast paths (pixelate/png_fast.py): the pipelined decoder gives Pillow's pixels or declines, and the
block writer gives valid PNGs that decode to exactly the enlarged grid, in Pillow, OpenCV and libvips."""
from __future__ import annotations

import io
import struct
import threading
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from pixelate import PixelateError, pixelate_bytes
from pixelate.image import ops
from pixelate.image.fast import png_fast
from tests.support.paths import CORPUS

MODES = ["L", "LA", "RGB", "RGBA"]


def random_image(mode: str, width: int, height: int, seed: int, smooth: bool = False) -> Image.Image:
    rng = np.random.default_rng(seed)
    bands = len(mode)
    if smooth:  # photo-like: filters other than None win, so every filter type shows up
        coarse = rng.integers(0, 256, (max(1, height // 16), max(1, width // 16), 4), dtype=np.uint8)
        full = np.asarray(Image.fromarray(coarse, "RGBA").resize((width, height), Image.Resampling.BICUBIC))
        array = full[..., :bands].copy()
    else:
        array = rng.integers(0, 256, (height, width, bands), dtype=np.uint8)
    return Image.fromarray(array[..., 0] if bands == 1 else array, mode)


def png_bytes(image: Image.Image, **params) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG", **params)
    return buf.getvalue()


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, checking each CRC as a strict decoder does."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), f"bad CRC in {kind!r}"
        out.append((kind, body))
        pos += 12 + length
    return out


def rechunked(data: bytes, idat_size: int) -> bytes:
    """The same PNG with its image data split into IDAT chunks of ``idat_size`` bytes."""
    parts = chunks(data)
    stream = b"".join(body for kind, body in parts if kind == b"IDAT")
    out, written = [data[:8]], False
    for kind, body in parts:
        if kind != b"IDAT":
            out.append(png_fast._chunk(kind, body))
        elif not written:
            out += [png_fast._chunk(b"IDAT", stream[i : i + idat_size]) for i in range(0, len(stream), idat_size)]
            written = True
    return b"".join(out)


def pillow_pixels(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def fast_pixels(data: bytes) -> Image.Image | None:
    return png_fast.decode(Image.open(io.BytesIO(data)))


# --- decoding ---------------------------------------------------------------------------------------------


def test_corpus_pngs_decode_as_pillow_does():
    taken = []
    for path in sorted(CORPUS.glob("*.png")):
        data = path.read_bytes()
        try:
            opened = Image.open(io.BytesIO(data))
        except Exception:
            continue  # not a PNG Pillow can even open: the core rejects it before any decoding
        try:
            reference = pillow_pixels(data)
        except Exception:
            assert png_fast.decode(opened) is None, path.name  # what Pillow cannot load is never returned
            continue
        fast = png_fast.decode(opened)
        if fast is not None:
            taken.append(path.name)
            assert (fast.mode, fast.size) == (reference.mode, reference.size), path.name
            assert fast.tobytes() == reference.tobytes(), path.name
            # Pillow's loader adds the text chunks after the image data; everything else is the same.
            assert fast.info.items() <= reference.info.items(), path.name
    assert len(taken) >= 3, taken  # the corpus's plain truecolour and grey PNGs take the fast path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mode=st.sampled_from(MODES),
    width=st.integers(1, 300),
    height=st.integers(1, 120),
    seed=st.integers(0, 2**32 - 1),
    smooth=st.booleans(),
    level=st.sampled_from([0, 1, 6, 9]),
    idat_size=st.sampled_from([None, 1, 7, 4096]),
)
def test_random_pngs_decode_as_pillow_does(mode, width, height, seed, smooth, level, idat_size):
    data = png_bytes(random_image(mode, width, height, seed, smooth), compress_level=level)
    if idat_size:
        data = rechunked(data, idat_size)
    fast = fast_pixels(data)
    assert fast is not None and fast.tobytes() == pillow_pixels(data).tobytes()


def test_large_image_in_one_idat_spans_many_steps():
    # 5 MB of rows: several inflate steps and stored-block pieces, as one 12 MP photo is
    image = random_image("RGBA", 1201, 1003, seed=4, smooth=True)
    data = rechunked(png_bytes(image), 1 << 30)
    assert sum(kind == b"IDAT" for kind, _ in chunks(data)) == 1
    assert fast_pixels(data).tobytes() == image.tobytes()


@pytest.mark.parametrize(
    "make",
    [
        lambda: _interlaced(),
        lambda: png_bytes(random_image("RGB", 40, 30, 1), save_all=True, append_images=[random_image("RGB", 40, 30, 2)]),
    ],
    ids=["interlaced", "apng"],
)
def test_declines_what_pillow_must_decode(make):
    assert fast_pixels(make()) is None


#: every bit depth and colour type PNG has (and Pillow reads)
LAYOUTS = [(1, 0), (2, 0), (4, 0), (8, 0), (16, 0), (8, 2), (16, 2), (1, 3), (2, 3), (4, 3), (8, 3), (8, 4), (16, 4), (8, 6), (16, 6)]


def crafted_png(depth: int, colour_type: int, width: int, height: int, seed: int) -> bytes:
    """A PNG of random samples in any layout, each row with a random filter byte (the data is what it is:
    any filtered bytes are a valid image), a palette and a tRNS where the layout has them."""
    rng = np.random.default_rng(seed)
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour_type]
    row_bytes = (width * depth * channels + 7) // 8
    rows = b"".join(bytes([int(rng.integers(0, 5))]) + rng.integers(0, 256, row_bytes, dtype=np.uint8).tobytes() for _ in range(height))
    chunks_ = [png_fast._chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0))]
    if colour_type == 3:
        chunks_.append(png_fast._chunk(b"PLTE", rng.integers(0, 256, 3 * 2**depth, dtype=np.uint8).tobytes()))
        chunks_.append(png_fast._chunk(b"tRNS", rng.integers(0, 256, 2**depth // 2 or 1, dtype=np.uint8).tobytes()))
    chunks_.append(png_fast._chunk(b"IDAT", zlib.compress(rows, 6)))
    chunks_.append(png_fast._chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks_)


@pytest.mark.parametrize("depth,colour_type", LAYOUTS)
@pytest.mark.parametrize("width,height", [(1, 1), (7, 5), (33, 17), (301, 40)])
def test_every_png_layout_decodes_as_pillow_does(depth, colour_type, width, height):
    data = crafted_png(depth, colour_type, width, height, seed=width * 31 + depth)
    reference = pillow_pixels(data)
    fast = fast_pixels(data)
    assert fast is not None
    assert (fast.mode, fast.size) == (reference.mode, reference.size)
    assert fast.tobytes() == reference.tobytes()
    assert fast.getpalette() == reference.getpalette()
    assert fast.info == reference.info
    # the palette is realised as on Pillow's path: the colours (and alpha) seen are the same
    if fast.mode == "P":
        assert fast.convert("RGBA").tobytes() == reference.convert("RGBA").tobytes()


def _interlaced() -> bytes:
    """An Adam7-interlaced PNG (Pillow cannot write one): IHDR's interlace byte and the data re-made."""
    image = random_image("RGB", 9, 7, 3)
    raw = image.tobytes()
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    stream = b""
    for x0, y0, dx, dy in passes:
        xs = range(x0, 9, dx)
        for y in range(y0, 7, dy):
            if xs:
                stream += b"\x00" + b"".join(raw[(y * 9 + x) * 3 : (y * 9 + x) * 3 + 3] for x in xs)
    header = struct.pack(">IIBBBBB", 9, 7, 8, 2, 0, 0, 1)
    data = b"\x89PNG\r\n\x1a\n" + png_fast._chunk(b"IHDR", header) + png_fast._chunk(b"IDAT", zlib.compress(stream)) + png_fast._chunk(b"IEND", b"")
    assert pillow_pixels(data).tobytes() == image.tobytes()  # the test file itself is right
    return data


@pytest.mark.parametrize("keep", [0.05, 0.5, 0.95])
def test_truncated_png_declines_and_the_core_says_corrupt(keep):
    data = png_bytes(random_image("RGB", 200, 150, 5, smooth=True))
    cut = data[: int(len(data) * keep)]
    assert fast_pixels(cut) is None
    with pytest.raises(PixelateError) as info:
        pixelate_bytes(cut, 8)
    assert info.value.reason == "corrupt"


def test_damaged_data_declines_or_matches_pillow():
    data = bytearray(png_bytes(random_image("RGBA", 120, 90, 6, smooth=True), compress_level=6))
    idat = data.index(b"IDAT") + 4
    rng = np.random.default_rng(7)
    for _ in range(40):
        damaged = bytearray(data)
        spot = int(rng.integers(idat + 2, len(data) - 20))
        damaged[spot] ^= int(rng.integers(1, 256))
        fast = fast_pixels(bytes(damaged))
        if fast is not None:  # the damage still inflates to whole rows: Pillow must read the same
            assert fast.tobytes() == pillow_pixels(bytes(damaged)).tobytes()


def test_decompression_bomb_in_a_tiny_image_is_cut_short(monkeypatch):
    # A 16x16 image whose data inflates to 200 MB: only the image's own 272 bytes (16 rows of a filter byte and
    # 16 pixels) are ever inflated. Counted, not timed: what the inflater hands on is all it produced.
    header = struct.pack(">IIBBBBB", 16, 16, 8, 0, 0, 0, 0)
    rows = (b"\x00" + bytes(range(16))) * 16
    bomb = zlib.compress(rows + bytes(200_000_000), 9)
    data = b"\x89PNG\r\n\x1a\n" + png_fast._chunk(b"IHDR", header) + png_fast._chunk(b"IDAT", bomb) + png_fast._chunk(b"IEND", b"")
    inflated = []
    stored_blocks = png_fast._stored_blocks
    monkeypatch.setattr(png_fast, "_stored_blocks", lambda raw, first: inflated.append(len(raw)) or stored_blocks(raw, first))
    fast = fast_pixels(data)
    assert fast is not None and fast.tobytes() == bytes(range(16)) * 16
    assert sum(inflated) == len(rows)


def test_no_thread_outlives_a_decode():
    before = threading.active_count()
    good = png_bytes(random_image("RGB", 600, 500, 8, smooth=True))
    assert fast_pixels(good) is not None
    assert fast_pixels(good[: len(good) // 2]) is None
    garbage = bytearray(good)
    garbage[good.index(b"IDAT") + 4 : good.index(b"IDAT") + 40] = bytes(36)
    fast_pixels(bytes(garbage))
    assert threading.active_count() == before


def test_without_isal_pillow_decodes(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_isal(name, *args, **kwargs):
        if name.startswith("isal"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_isal)
    data = png_bytes(random_image("RGB", 64, 48, 9))
    assert fast_pixels(data) is None
    assert pixelate_bytes(data, 8).width == 64


def test_the_core_takes_the_fast_path_for_a_still_png(monkeypatch):
    decoded = []
    real = png_fast.decode
    monkeypatch.setattr(png_fast, "decode", lambda image: decoded.append(real(image)) or decoded[-1])
    pixelate_bytes(png_bytes(random_image("RGBA", 64, 48, 10)), 8)
    assert len(decoded) == 1 and decoded[0] is not None and decoded[0].mode == "RGBA"


# --- writing ----------------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mode=st.sampled_from(MODES),
    cols=st.integers(1, 30),
    rows=st.integers(1, 20),
    size=st.integers(2, 40),
    cut_x=st.integers(0, 39),
    cut_y=st.integers(0, 39),
    seed=st.integers(0, 2**32 - 1),
)
def test_written_png_is_the_enlarged_grid(mode, cols, rows, size, cut_x, cut_y, seed):
    grid = random_image(mode, cols, rows, seed)
    # the output may cut the last column and row of blocks anywhere
    width = max(1, cols * size - cut_x % size)
    height = max(1, rows * size - cut_y % size)
    data = png_fast.encode_blocks(grid, size, (width, height))
    parts = chunks(data)  # every CRC right
    assert [kind for kind, _ in parts] == [b"IHDR", b"IDAT", b"IEND"]
    zlib.decompress(parts[1][1])  # the whole stream inflates and its Adler-32 is right
    decoded = pillow_pixels(data)
    expected = ops.enlarge_blocks(grid, size, (width, height))
    assert (decoded.mode, decoded.size) == (mode, (width, height))
    assert decoded.tobytes() == expected.tobytes()


def test_icc_profile_is_written():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = png_fast.encode_blocks(random_image("RGB", 5, 4, 11), 8, (37, 30), icc_profile=profile)
    assert pillow_pixels(data).info["icc_profile"] == profile


def test_declines_modes_it_does_not_write():
    assert png_fast.encode_blocks(Image.new("I;16", (4, 4)), 8, (32, 32)) is None
    assert png_fast.encode_blocks(Image.new("P", (4, 4)), 8, (32, 32)) is None
    with_key = Image.new("RGB", (4, 4))
    with_key.info["transparency"] = (0, 0, 0)
    assert png_fast.encode_blocks(with_key, 8, (32, 32)) is None


def test_adler32_combine_is_zlibs():
    rng = np.random.default_rng(12)
    for _ in range(50):
        a = rng.integers(0, 256, int(rng.integers(0, 5000)), dtype=np.uint8).tobytes()
        b = rng.integers(0, 256, int(rng.integers(0, 300_000)), dtype=np.uint8).tobytes()
        assert png_fast._adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)


def test_opencv_and_libvips_read_it_as_pillow_does():
    cv2 = pytest.importorskip("cv2")
    pyvips = pytest.importorskip("pyvips")
    for mode in MODES:
        grid = random_image(mode, 13, 9, 13)
        data = png_fast.encode_blocks(grid, 16, (200, 137))
        expected = np.asarray(ops.enlarge_blocks(grid, 16, (200, 137)))
        expected = expected.reshape(137, 200, -1)
        mat = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED).reshape(137, 200, -1)
        if mat.shape[2] >= 3:  # OpenCV's order is BGR(A)
            mat = mat[..., [2, 1, 0, 3][: mat.shape[2]]]
        if mode == "LA":  # OpenCV widens grey with alpha to BGRA
            mat = mat[..., [0, 3]]
        assert np.array_equal(mat, expected), mode
        image = pyvips.Image.new_from_buffer(data, "", fail=True)
        vips = np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, image.bands))
        assert np.array_equal(vips, expected), mode


@pytest.mark.parametrize("size", [8, 16, 32])
def test_a_still_photo_png_is_about_as_small_as_pillows_own(size):
    # The writer splices self-contained deflate pieces, so each block row pays its own Huffman tables
    # (30-100 bytes) where Pillow's one stream shares them: measured 6%, 5% and 8% larger at blocks 8, 16
    # and 32 on this 1 MP photo (2% at 12 MP), for a tenth of the encoding time.
    from pixelate.bench.workloads import photo_like

    photo = photo_like(1024, 768, seed=3).convert("RGBA")
    ours = pixelate_bytes(png_bytes(photo), size)
    grid = ops.block_means(photo, size)
    pillows = png_bytes(ops.enlarge_blocks(grid, size, photo.size), compress_level=3, compress_type=3)
    assert pillow_pixels(ours.data).tobytes() == pillow_pixels(pillows).tobytes()
    assert len(ours.data) <= len(pillows) * 1.10


def _with_orientation(image: Image.Image, orientation: int, late: bool) -> bytes:
    """A PNG carrying EXIF orientation in an eXIf chunk, before the image data or (``late``) after it."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = png_bytes(image, exif=exif.tobytes())
    if not late:
        return data
    parts = chunks(data)
    exif_chunk = next(body for kind, body in parts if kind == b"eXIf")
    out = [data[:8]]
    for kind, body in parts:
        if kind == b"IEND":
            out.append(png_fast._chunk(b"eXIf", exif_chunk))
        if kind != b"eXIf":
            out.append(png_fast._chunk(kind, body))
    return b"".join(out)


@pytest.mark.parametrize("late", [False, True], ids=["exif-before-pixels", "exif-after-pixels"])
def test_png_orientation_is_applied_wherever_the_exif_is(monkeypatch, late):
    image = random_image("RGB", 64, 32, 15)  # wide; orientation 6 shows it tall
    data = _with_orientation(image, 6, late)
    took_fast_path = []
    real = png_fast.decode

    def spy(opened):
        decoded = real(opened)
        took_fast_path.append(decoded is not None)
        return decoded

    monkeypatch.setattr(png_fast, "decode", spy)
    result = pixelate_bytes(data, 8)
    assert (result.width, result.height) == (32, 64)
    expected = ops.pixelate(image.transpose(Image.Transpose.ROTATE_270), 8)
    assert pillow_pixels(result.data).tobytes() == expected.tobytes()
    # EXIF read at open leaves the pixels to the fast path; EXIF after them needs Pillow's full load first
    assert png_fast.has_chunks_after_pixels(Image.open(io.BytesIO(data))) is late
    assert took_fast_path == [not late]


# --- what a review of the fast paths found (each failed before its fix) -------------------------------------


def _with_chunk_after_pixels(data: bytes, kind: bytes, body: bytes) -> bytes:
    """``data`` with one more chunk between the image data and IEND."""
    end = data.rindex(b"IEND") - 4
    return data[:end] + png_fast._chunk(kind, body) + data[end:]


def _bad_filter_byte(width: int = 50, height: int = 40) -> bytes:
    """A flat grey RGB PNG whose row 20 has filter type 9, which does not exist."""
    rows = [bytes([0]) + bytes([120]) * (3 * width) for _ in range(height)]
    rows[20] = bytes([9]) + rows[20][1:]
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + png_fast._chunk(b"IHDR", header)
        + png_fast._chunk(b"IDAT", zlib.compress(b"".join(rows))) + png_fast._chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("late_text", [False, True], ids=["alone", "with-text-after-pixels"])
def test_damaged_pixels_are_corrupt_whatever_follows_them(late_text):
    # Before: with a tEXt after the image data, Pillow's getexif() decoded the pixels, the error was
    # swallowed, and a half-black image came out.
    data = _bad_filter_byte()
    if late_text:
        data = _with_chunk_after_pixels(data, b"tEXt", b"Comment\0hello")
    with pytest.raises(PixelateError) as info:
        pixelate_bytes(data, 8)
    assert info.value.reason == "corrupt"


def test_a_zlib_header_zlib_rejects_is_not_decoded_by_isal():
    # CINFO 8 (a 64 KiB window) is invalid for zlib, so Pillow's loader fails; ISA-L would decode it.
    data = bytearray(png_bytes(random_image("RGB", 32, 24, 16)))
    start = data.index(b"IDAT") + 4
    data[start] = 0x88  # CM 8, CINFO 8
    data[start + 1] = next(flags for flags in range(256) if (0x88 << 8 | flags) % 31 == 0 and not flags & 0x20)
    body_len = struct.unpack(">I", data[start - 8 : start - 4])[0]
    data[start + body_len : start + body_len + 4] = struct.pack(">I", zlib.crc32(bytes(data[start - 4 : start + body_len])))
    assert fast_pixels(bytes(data)) is None
    with pytest.raises(PixelateError) as info:
        pixelate_bytes(bytes(data), 8)
    assert info.value.reason == "corrupt"


def test_transparency_and_profile_after_the_pixels_are_honoured():
    # Out of place per the PNG spec, but Pillow's loader reads them, and so did the core before.
    image = random_image("RGB", 32, 24, 17)
    image.putpixel((0, 0), (10, 20, 30))
    keyed = _with_chunk_after_pixels(png_bytes(image), b"tRNS", struct.pack(">HHH", 10, 20, 30))
    assert fast_pixels(keyed) is None
    assert pillow_pixels(pixelate_bytes(keyed, 2).data).convert("RGBA").getpixel((0, 0))[3] < 255
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    late_profile = _with_chunk_after_pixels(png_bytes(image), b"iCCP", b"ICC Profile\0\0" + zlib.compress(profile))
    assert pillow_pixels(pixelate_bytes(late_profile, 8).data).info.get("icc_profile") == profile


def test_a_damaged_chunk_after_the_pixels_is_corrupt_with_or_without_exif():
    image = random_image("RGB", 32, 24, 18)
    for data in (png_bytes(image), _with_orientation(image, 1, late=False)):
        end = data.rindex(b"IEND") - 4
        torn = data[:end] + struct.pack(">I", 1000) + b"abCD" + b"x" * 10  # a chunk cut short, no IEND
        with pytest.raises(PixelateError) as info:
            pixelate_bytes(torn, 8)
        assert info.value.reason == "corrupt"


def test_no_thread_or_no_memory_lets_pillow_decode(monkeypatch):
    data = png_bytes(random_image("RGB", 64, 48, 19))

    def refuse(*args, **kwargs):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    assert fast_pixels(data) is None
    assert pixelate_bytes(data, 8).width == 64
    monkeypatch.undo()

    opened = Image.open(io.BytesIO(data))
    real_new = Image.new

    def no_memory(mode, size, *args, **kwargs):
        if size == (64, 48):
            raise MemoryError
        return real_new(mode, size, *args, **kwargs)

    monkeypatch.setattr(Image, "new", no_memory)
    assert png_fast.decode(opened) is None


def test_running_out_of_memory_anywhere_is_too_large(monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(ops, "block_means", no_memory)
    with pytest.raises(PixelateError) as info:
        pixelate_bytes(png_bytes(random_image("RGB", 64, 48, 20)), 8)
    assert info.value.reason == "too-large"


def test_tiny_idat_chunks_are_joined_before_they_cross_threads(monkeypatch):
    # 500-byte chunks made every chunk a hand-over between the threads (5x slower than Pillow).
    image = random_image("RGB", 600, 400, 21, smooth=True)
    data = rechunked(png_bytes(image, compress_level=1), 500)
    handovers = []
    real = png_fast._stored_blocks
    monkeypatch.setattr(png_fast, "_stored_blocks", lambda raw, first: handovers.append(len(raw)) or real(raw, first))
    assert fast_pixels(data).tobytes() == image.tobytes()
    compressed = sum(len(body) for kind, body in chunks(data) if kind == b"IDAT")
    raw = 400 * (1 + 600 * 3)
    assert len(handovers) <= compressed // png_fast._PIECE + raw // png_fast._STEP + 2, len(handovers)


@pytest.mark.parametrize("size", [2, 3, 4])
def test_pixel_art_at_small_blocks_is_as_small_as_pillows_own(size):
    # Identical block rows (pixel art, flat graphics) become all-zero Up rows; flushing per block row
    # used to double the output at block 2.
    rng = np.random.default_rng(22)
    art = Image.fromarray(rng.integers(0, 16, (60, 80), dtype=np.uint8) * 16, "L").convert("RGB")
    art = art.resize((80 * 8, 60 * 8), Image.Resampling.NEAREST)
    ours = pixelate_bytes(png_bytes(art), size)
    pillows = png_bytes(ops.pixelate(art, size), compress_level=3, compress_type=3)
    assert pillow_pixels(ours.data).tobytes() == pillow_pixels(pillows).tobytes()
    assert len(ours.data) <= len(pillows) * 1.05, (len(ours.data), len(pillows))


def test_a_palette_transparency_longer_than_any_palette_is_cut_as_libpng_cuts_it():
    # Pillow raised "palette index out of range" (unclassified) converting such a file; libpng ignores
    # the surplus entries, and so does the core.
    header = struct.pack(">IIBBBBB", 8, 8, 8, 3, 0, 0, 0)
    rows = b"".join(b"\0" + bytes(range(i * 8, i * 8 + 8)) for i in range(8))
    data = b"\x89PNG\r\n\x1a\n" + b"".join(
        png_fast._chunk(kind, body)
        for kind, body in [
            (b"IHDR", header), (b"PLTE", bytes(range(192))), (b"tRNS", bytes(32) + b"\xff" * 229),
            (b"IDAT", zlib.compress(rows)), (b"IEND", b""),
        ]
    )
    out = pillow_pixels(pixelate_bytes(data, 2).data).convert("RGBA")
    assert out.getpixel((0, 0))[3] == 0 and out.getpixel((7, 7))[3] == 255  # indices 0-31 clear, 32+ opaque
