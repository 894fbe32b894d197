"""Every real-world image of the corpus gets the outcome its README gives (tests/corpus/README.md)."""
from __future__ import annotations

import io

import pytest
from PIL import Image, ImageOps, ImageSequence

from pixelate import PixelateError, pixelate_bytes
from tests.support.corpus_outcomes import EXPECTED
from tests.support.paths import CORPUS, SAMPLES


def corpus_files() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir() if p.suffix.lower() != ".md")


def read(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_every_corpus_file_has_an_expectation():
    assert set(corpus_files()) == set(EXPECTED), "a corpus file without an expected outcome (or a stale entry)"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_outcome(name):
    expected = EXPECTED[name]
    if isinstance(expected, str):
        with pytest.raises(PixelateError) as caught:
            pixelate_bytes(read(name), 16)
        assert caught.value.reason == expected
        assert caught.value.message and "0x" not in caught.value.message  # a sentence, not an object repr
        return
    fmt, width, height, frames = expected
    result = pixelate_bytes(read(name), 16)
    assert (result.format, result.width, result.height, result.frames) == expected
    out = decode(result.data)
    assert out.format == fmt
    assert out.size == (width, height)
    assert getattr(out, "n_frames", 1) == frames
    assert result.content_type == Image.MIME[fmt]


@pytest.mark.parametrize(
    "name", ["hopper_orientation_6.jpg", "hopper_orientation_3.webp", "exif_imagemagick_orientation.png", "avif_rot1mir0.avif"]
)
def test_orientation_is_applied(name):
    """The output is the pixelation of the *displayed* image: compare with the upright source's block means."""
    upright = ImageOps.exif_transpose(decode(read(name))).convert("RGB")
    out = decode(pixelate_bytes(read(name), 16).data).convert("RGB")
    assert out.size == upright.size
    assert "exif" not in out.info and not out.getexif().get(0x0112)
    # A sideways or upside-down output would be far from the upright image's block means.
    reference = upright.reduce(16).resize(out.size, Image.Resampling.NEAREST, box=(0, 0, out.width / 16, out.height / 16))
    assert mean_abs_diff(out, reference) < 6


def test_gps_and_exif_are_not_copied():
    source = decode(read("exif_gps.jpg"))
    assert source.getexif().get_ifd(0x8825), "the corpus file should carry GPS"
    out = decode(pixelate_bytes(read("exif_gps.jpg"), 4).data)
    assert "exif" not in out.info
    assert not out.getexif().get_ifd(0x8825)
    assert len(out.getexif()) == 0


@pytest.mark.parametrize("name", ["pil_sample_cmyk.jpg", "tiff_strip_cmyk_jpeg.tif"])
def test_xmp_is_not_copied(name):
    assert "xmp" in decode(read(name)).info
    out = decode(pixelate_bytes(read(name), 8).data)
    assert "xmp" not in out.info and b"xpacket" not in pixelate_bytes(read(name), 8).data


def test_icc_profile_is_kept():
    source = decode(read("icc_profile_big.jpg"))
    out = decode(pixelate_bytes(read("icc_profile_big.jpg"), 16).data)
    assert out.info.get("icc_profile") == source.info["icc_profile"]


@pytest.mark.parametrize(
    "name",
    ["transparent.png", "p_trns_single.png", "uncompressed_la.png", "1_trns.png", "transparent.webp",
     "bmp_q_rgba32.bmp", "avif_transparency.avif", "i_trns.png"],
)
def test_transparency_is_kept(name):
    source = decode(read(name))
    out = decode(pixelate_bytes(read(name), 8).data)
    assert out.has_transparency_data
    src_alpha = alpha_of(source)
    out_alpha = alpha_of(out)
    # Transparent regions stay transparent: the mean alpha is close to the source's.
    assert abs(mean(src_alpha) - mean(out_alpha)) < 12
    assert out_alpha.getextrema()[0] < 255  # see-through blocks remain


def test_transparent_pixels_lend_no_colour():
    """A block half opaque red, half transparent *green*: the block is red (alpha-weighted), half transparent."""
    image = Image.new("RGBA", (16, 16), (0, 255, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 16, 8))
    out = decode(pixelate_bytes(png(image), 16).data).convert("RGBA")
    r, g, b, a = out.getpixel((5, 5))
    assert (r, g, b) == (255, 0, 0) and 120 <= a <= 135


@pytest.mark.parametrize("name", ["hopper_gray.jpg", "16bit.cropped.tif", "i_trns.png", "uncompressed_la.png"])
def test_grey_and_16bit_are_not_crushed(name):
    source = decode(read(name))
    out = decode(pixelate_bytes(read(name), 8).data)
    assert out.mode == source.mode or (source.mode, out.mode) in {("LA", "LA")}
    src_lo, src_hi = grey_extrema(source)
    out_lo, out_hi = grey_extrema(out)
    # Block means lie inside the source's range, vary, and keep the overall brightness: not black or white.
    assert src_lo <= out_lo < out_hi <= src_hi
    assert abs(grey_mean(out) - grey_mean(source)) <= 0.02 * (src_hi - src_lo) + 1


@pytest.mark.parametrize("name", ["pil_sample_cmyk.jpg", "tiff_strip_cmyk_jpeg.tif"])
def test_cmyk_colours_stay_right(name):
    source = decode(read(name)).convert("RGB")
    out = decode(pixelate_bytes(read(name), 10).data).convert("RGB")
    for channel in range(3):
        assert abs(mean(source.getchannel(channel)) - mean(out.getchannel(channel))) < 4


def frame_durations(image: Image.Image) -> list:
    """Each frame's duration, read once the frame is loaded (Pillow's WebP reader sets it only then)."""
    durations = []
    for frame in ImageSequence.Iterator(image):
        frame.load()
        durations.append(frame.info.get("duration"))
    return durations


@pytest.mark.parametrize("regions", [None, [(3, 4, 20, 10)]], ids=["whole", "regions"])
def test_an_apngs_default_image_stays_outside_the_animation(regions):
    """An APNG may carry a default image for viewers that do not animate: it was written as a frame of 0 ms."""
    frames = [Image.new("RGBA", (40, 30), (60 * i, 90, 200 - 40 * i, 255)) for i in range(4)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "PNG", save_all=True, append_images=frames[1:], duration=[30, 40, 50, 60], loop=2,
                   default_image=True)
    source = Image.open(io.BytesIO(buffer.getvalue()))
    out = Image.open(io.BytesIO(pixelate_bytes(buffer.getvalue(), 8, regions=regions).data))
    assert out.info.get("default_image") is True and out.info.get("loop") == 2
    assert frame_durations(out) == frame_durations(source) == [None, 30, 40, 50]


@pytest.mark.parametrize("regions", [None, [(3, 4, 20, 10)]], ids=["whole", "regions"])
@pytest.mark.parametrize("name", ["dispose_bgnd.gif", "iss634.gif", "iss634.webp", "apng_dispose_op_none.png"])
def test_animations_keep_every_frame_durations_and_loop(name, regions):
    source = Image.open(io.BytesIO(read(name)))
    src_durations = frame_durations(source)
    assert any(src_durations), "the test needs an input with durations"
    src_loop = source.info.get("loop")
    out = Image.open(io.BytesIO(pixelate_bytes(read(name), 8, regions=regions).data))
    out_durations = frame_durations(out)
    # Identical consecutive frames are folded into one (durations added): the timing is the same.
    assert 1 < len(out_durations) <= len(src_durations)
    assert sum(round(d or 0) for d in out_durations) == sum(round(d or 0) for d in src_durations)
    if name.startswith("iss634"):  # a real animation: every frame differs, so every frame is kept
        assert len(out_durations) == len(src_durations)
        assert [round(d or 0) for d in out_durations] == [round(d or 0) for d in src_durations]
    assert out.info.get("loop") == src_loop
    if regions is None:  # every frame is pixelated: each 8×8 block of every frame is one colour (GIF/APNG/lossless WebP)
        for frame in ImageSequence.Iterator(out):
            assert blocks_are_flat(frame.convert("RGBA"), 8)


def test_animation_frames_differ_like_the_source():
    """Frames are not all the same picture (each frame pixelated, not the first one repeated)."""
    out = Image.open(io.BytesIO(pixelate_bytes(read("iss634.gif"), 8).data))
    frames = [frame.convert("RGB").tobytes() for frame in ImageSequence.Iterator(out)]
    assert len(set(frames)) > len(frames) // 2


def test_gif_transparency_survives():
    name = "dispose_bgnd.gif"
    out = Image.open(io.BytesIO(pixelate_bytes(read(name), 4).data))
    src = Image.open(io.BytesIO(read(name)))
    assert ("transparency" in out.info) == ("transparency" in src.info) or out.has_transparency_data


@pytest.mark.parametrize("name", ["7x13.png", "app13.jpg"])
def test_smaller_than_a_block_is_one_block(name):
    out = decode(pixelate_bytes(read(name), 32).data).convert("RGB")
    colours = out.getcolors()
    assert colours is not None and len(colours) <= (2 if name.endswith(".jpg") else 1)


def test_mpo_gives_the_main_picture_as_jpeg():
    source = Image.open(io.BytesIO(read("sugarshack.mpo")))
    source.seek(0)
    main = source.convert("RGB")
    out = decode(pixelate_bytes(read("sugarshack.mpo"), 16).data)
    assert out.format == "JPEG" and getattr(out, "n_frames", 1) == 1
    reference = main.reduce(16).resize(main.size, Image.Resampling.NEAREST, box=(0, 0, main.width / 16, main.height / 16))
    assert mean_abs_diff(out.convert("RGB"), reference) < 4


def test_heic_is_accepted_and_gives_jpeg():
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    photo = Image.open(SAMPLES / "chelsea.png").convert("RGB")
    buffer = io.BytesIO()
    photo.save(buffer, format="HEIF", quality=90)
    result = pixelate_bytes(buffer.getvalue(), 16)
    assert (result.format, result.content_type, result.width, result.height) == ("JPEG", "image/jpeg", 451, 300)
    reference = photo.reduce(16).resize(photo.size, Image.Resampling.NEAREST, box=(0, 0, 451 / 16, 300 / 16))
    assert mean_abs_diff(decode(result.data).convert("RGB"), reference) < 6


# --- helpers ---------------------------------------------------------------------------------------------------


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def mean(channel: Image.Image) -> float:
    data = channel.get_flattened_data()
    return sum(data) / len(data)


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    from PIL import ImageChops

    return mean(ImageChops.difference(a, b).convert("L"))


def alpha_of(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I") and "transparency" in image.info:
        value = image.info["transparency"]
        return Image.frombytes("L", image.size, bytes(0 if v == value else 255 for v in image.get_flattened_data()))
    return image.convert("RGBA").getchannel("A")


def grey_extrema(image: Image.Image) -> tuple[float, float]:
    if image.mode.startswith("I"):
        values = [v for v in image.get_flattened_data() if v != image.info.get("transparency")]
        return min(values), max(values)
    return image.convert("L").getextrema()


def grey_mean(image: Image.Image) -> float:
    if image.mode.startswith("I"):
        values = [v for v in image.get_flattened_data() if v != image.info.get("transparency")]
        return sum(values) / len(values)
    grey = image.convert("LA")
    pairs = list(zip(grey.getchannel("L").get_flattened_data(), grey.getchannel("A").get_flattened_data()))
    weight = sum(a for _, a in pairs)
    return sum(v * a for v, a in pairs) / weight


def blocks_are_flat(image: Image.Image, size: int) -> bool:
    for top in range(0, image.height, size):
        for left in range(0, image.width, size):
            block = image.crop((left, top, min(left + size, image.width), min(top + size, image.height)))
            if len(block.getcolors(size * size) or []) != 1:
                return False
    return True
