"""Privacy pixelation of regions: geometry (pixels and fractions, clipping, invalid regions), every pixel of a
region inside a pixelated block, the rest of the image untouched (bit-identical for lossless formats; for an
upright JPEG the DCT-domain path keeps every other 8×8 block), on every frame, upright, with alpha."""
from __future__ import annotations

import io
import math
from types import SimpleNamespace

import pytest
from PIL import Image, ImageChops, ImageOps, ImageSequence

from pixelate import PixelateError, pixelate_bytes
from pixelate.bench.workloads import photo_jpeg, with_exif_orientation
from pixelate.image.fast import jpeg_regions, libjpeg
from tests.support.paths import CORPUS, SAMPLES


def frames(data: bytes) -> list[Image.Image]:
    """Every frame as displayed, in RGBA (a JPEG turned upright)."""
    image = Image.open(io.BytesIO(data))
    if image.format in ("JPEG", "MPO"):
        return [ImageOps.exif_transpose(image).convert("RGBA")]
    return [frame.convert("RGBA") for frame in ImageSequence.Iterator(image)]


def covered(result, size, margin: int = 0) -> Image.Image:
    """A mask, 255 where a pixelated box (grown by ``margin``) covers the image."""
    mask = Image.new("L", size, 0)
    for box in result.regions:
        mask.paste(255, (box["x"] - margin, box["y"] - margin, box["x"] + box["w"] + margin, box["y"] + box["h"] + margin))
    return mask


def changed_outside(before: Image.Image, after: Image.Image, result, margin: int = 0) -> int:
    """How many pixels differ outside the pixelated boxes (grown by ``margin``)."""
    changed = ImageChops.difference(before, after).convert("L").point(lambda v: 255 if v else 0)
    outside = ImageChops.subtract(changed, covered(result, before.size, margin))
    return outside.histogram()[255]


def assert_flat_blocks(image: Image.Image, box: dict) -> None:
    """Every block of the box is one colour (a partial block at the image's edge too)."""
    size = box["block"]
    for top in range(box["y"], box["y"] + box["h"], size):
        for left in range(box["x"], box["x"] + box["w"], size):
            cell = image.crop((left, top, min(left + size, box["x"] + box["w"]), min(top + size, box["y"] + box["h"])))
            assert len(cell.getcolors(1 << 16) or []) == 1, (box, left, top)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


# --- geometry ---------------------------------------------------------------------------------------------


def test_regions_in_pixels_and_fractions_are_pixelated_exactly_with_blocks_from_their_corner():
    data = (SAMPLES / "astronaut.png").read_bytes()  # 512×512
    result = pixelate_bytes(data, 16, regions=[(10, 20, 30, 40), (0.5, 0.5, 0.25, 0.125)])
    assert [(b["x"], b["y"], b["w"], b["h"], b["block"], b["source"]) for b in result.regions] == [
        (10, 20, 30, 40, 16, "manual"),  # not grown: blocks from (10, 20), the last of each row and column cut
        (256, 256, 128, 64, 16, "manual"),  # fractions of 512
    ]
    (after,), (before,) = frames(result.data), frames(data)
    assert after.getpixel((10, 20)) == after.getpixel((25, 35)) != after.getpixel((26, 20))  # one block: 10..25
    assert after.getpixel((9, 20)) == before.getpixel((9, 20)) and after.getpixel((40, 59)) == before.getpixel((40, 59))
    assert pixelate_bytes(data, 16, regions="10,20,30,40;0.5,0.5,0.25,0.125").regions == result.regions


def test_a_region_partly_outside_is_clipped_and_one_wholly_outside_is_named():
    data = (SAMPLES / "astronaut.png").read_bytes()
    clipped = pixelate_bytes(data, 16, regions="500,500,100,100")
    assert [(b["x"], b["y"], b["w"], b["h"]) for b in clipped.regions] == [(500, 500, 12, 12)]
    with pytest.raises(PixelateError) as caught:
        pixelate_bytes(data, 16, regions="10,10,5,5;600,0,50,50")
    assert caught.value.reason == "invalid-option" and "600,0,50,50" in caught.value.message
    for empty in ("10,10,0,5", "0.1,0.1,0.0,0.2"):
        with pytest.raises(PixelateError, match="empty"):
            pixelate_bytes(data, 16, regions=empty)
    # a pixel number with a decimal point (a client scaling a drawn box) is told why, not that it is no number
    for mixed in ("0.5,10,20,20", "10.5,20,30,40", "12.,20,30,40"):
        with pytest.raises(PixelateError, match="read as fractions"):
            pixelate_bytes(data, 16, regions=mixed)


@pytest.mark.parametrize("name", ["astronaut.png", "coffee.png", "chelsea.png"])
@pytest.mark.parametrize("method", ["average", "nearest"])
def test_lossless_output_changes_only_inside_the_regions_and_every_block_there_is_flat(name, method):
    data = (SAMPLES / name).read_bytes()
    result = pixelate_bytes(data, 12, method, regions="37,41,101,77;0.6,0.1,0.3,0.5")
    (before,), (after,) = frames(data), frames(result.data)
    assert changed_outside(before, after, result) == 0
    for box in result.regions:
        assert_flat_blocks(after, box)
    assert changed_outside(before, after, result) < sum(b["w"] * b["h"] for b in result.regions)  # something changed


@pytest.mark.parametrize("name", ["hopper.gif", "iss634.webp", "hopper.tif", "hopper.bmp", "transparent.png",
                                  "p_trns_single.png", "16bit.cropped.tif", "dispose_bgnd.gif",
                                  "apng_dispose_op_none.png", "1_trns.png"])
def test_every_frame_of_a_lossless_file_keeps_its_pixels_outside_the_regions(name):
    data = (CORPUS / name).read_bytes()
    result = pixelate_bytes(data, 8, regions="0.25,0.25,0.5,0.25")
    before, after = frames(data), frames(result.data)
    assert result.frames == len(after) and len(before) >= len(after)
    assert result.regions and all(box["source"] == "manual" for box in result.regions)
    for frame_before, frame_after in zip(before, after):
        assert changed_outside(frame_before, frame_after, result) == 0


@pytest.mark.parametrize("animated", [False, True])
def test_a_lossy_webp_stays_lossy_with_regions_and_close_to_its_size(animated):
    # encoded lossless, a lossy photo came back 6-12 times its size (past the synchronous API's 4 MiB at 6 MP)
    photo = Image.open(SAMPLES / "rocket.jpg").convert("RGB")
    pictures = [photo, photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)] if animated else [photo]
    buffer = io.BytesIO()
    pictures[0].save(buffer, "WEBP", quality=75, save_all=animated, append_images=pictures[1:], duration=100)
    data = buffer.getvalue()
    result = pixelate_bytes(data, 16, regions="0,0,64,64")
    assert b"VP8 " in result.data and b"VP8L" not in result.data
    assert len(result.data) < 2 * len(data)
    for before, after in zip(frames(data), frames(result.data)):
        # inside: flat blocks, but for the encoder's few levels
        block = after.convert("L").crop((0, 0, 16, 16))
        assert max(block.getdata()) - min(block.getdata()) <= 8
        # outside the region: generation loss, a level or so on average, as for a turned JPEG
        difference = ImageChops.difference(before.convert("RGB"), after.convert("RGB")).convert("L")
        outside = [v for i, v in enumerate(difference.getdata()) if i % before.width >= 80 or i // before.width >= 80]
        assert sum(outside) / len(outside) < 2


def test_a_webps_pixels_are_limited_to_a_share_of_the_others():
    from pixelate.image.limits import WEBP_SHARE, Limits

    limits = Limits(max_pixels=1000, max_total_pixels=3000)
    assert limits.for_format("PNG") is limits
    assert (limits.for_format("WEBP").max_pixels, limits.for_format("WEBP").max_total_pixels) == (
        int(1000 * WEBP_SHARE), int(3000 * WEBP_SHARE))
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "red").save(buffer, "WEBP")  # 800 px: within the limit, past a WebP's share of it
    with pytest.raises(PixelateError) as refused:
        pixelate_bytes(buffer.getvalue(), 8, limits=limits)
    assert refused.value.reason == "too-large" and "for a WebP" in refused.value.message  # (not README's figure)
    # looking for faces encodes nothing: a WebP there keeps the others' limits
    from pixelate.image.pipeline import find_faces

    assert find_faces(buffer.getvalue(), limits=limits).width == 40
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "red").save(buffer, "PNG")
    assert pixelate_bytes(buffer.getvalue(), 8, limits=limits).width == 40


def test_regions_are_pixelated_on_every_frame_of_an_animation():
    data = (CORPUS / "dispose_bgnd.gif").read_bytes()
    result = pixelate_bytes(data, 10, regions="0,0,50,50")
    for frame in frames(result.data):
        assert_flat_blocks(frame, result.regions[0])


def gif_with_a_local_colour_table(colours: int) -> bytes:
    """A 64×64 GIF of noise in 256 colours, then a 32×32 frame at (32, 32) with a colour table of its own
    (``colours`` others): the second frame as shown holds more than 256 colours, as GIFs from encoders that
    write a table per frame do (Pillow cannot write such a file: it is put together here)."""
    import struct

    def single(picture: Image.Image, count: int) -> tuple[int, bytes, bytes]:
        buffer = io.BytesIO()
        picture.quantize(count, method=Image.Quantize.MEDIANCUT).save(buffer, "GIF")
        data = buffer.getvalue()
        flags = data[10]
        table = data[13 : 13 + 3 * 2 ** ((flags & 7) + 1)]
        pos = 13 + len(table)
        while data[pos] != 0x2C:  # past the extensions, to the image descriptor
            pos += 2
            while data[pos]:
                pos += data[pos] + 1
            pos += 1
        return flags, table, data[pos + 10 : -1]

    flags, table, pixels = single(Image.effect_noise((64, 64), 80).convert("RGB").point(lambda v: v & ~1), 256)
    patch = Image.merge("RGB", [Image.effect_noise((32, 32), 60 + 10 * band).point(lambda v: v | 1) for band in range(3)])
    patch_flags, patch_table, patch_pixels = single(patch, colours)
    keep = b"\x21\xf9\x04\x04" + struct.pack("<H", 10) + b"\x00\x00"  # disposal 1 (keep), 100 ms
    return (b"GIF89a" + struct.pack("<HHBBB", 64, 64, flags, 0, 0) + table + b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
            + keep + b"\x2c" + struct.pack("<HHHHB", 0, 0, 64, 64, 0) + pixels
            + keep + b"\x2c" + struct.pack("<HHHHB", 32, 32, 32, 32, 0x80 | (patch_flags & 7)) + patch_table + patch_pixels
            + b"\x3b")


def test_a_gif_frames_own_colours_stay_exact_even_one_level_apart():
    """Pillow's quantize(palette=) looks colours up in coarse cells: 101,101,101 came out as 100,100,100."""
    from pixelate.image.encode import exact_palette

    picture = Image.new("RGBA", (4, 1))
    for x, colour in enumerate([(100, 100, 100, 255), (101, 101, 101, 255), (100, 100, 101, 255), (9, 9, 9, 0)]):
        picture.putpixel((x, 0), colour)
    paletted = exact_palette(picture)
    assert paletted.mode == "P" and paletted.info["transparency"] == 3
    assert list(paletted.convert("RGB").get_flattened_data())[:3] == [(100, 100, 100), (101, 101, 101), (100, 100, 101)]
    assert paletted.getpixel((3, 0)) == 3


def test_a_gif_whose_frames_each_have_their_own_palette_keeps_every_pixel_outside_the_regions():
    """Frames of close colours, each with its own table (as Pillow and ffmpeg write them): 66 % of the pixels
    outside the region changed, through Pillow's coarse colour lookup."""
    pictures = [Image.effect_noise((64, 48), 30 + 5 * i).convert("RGB").quantize(200) for i in range(4)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, "GIF", save_all=True, append_images=pictures[1:], duration=50, loop=0)
    result = pixelate_bytes(buffer.getvalue(), 4, regions="8,8,16,12")
    before, after = frames(buffer.getvalue()), frames(result.data)
    assert len(after) == 4
    for shown, pixelated in zip(before, after):
        assert changed_outside(shown, pixelated, result) == 0
        assert_flat_blocks(pixelated, result.regions[0])


@pytest.mark.parametrize("colours,most_changed", [(250, 0), (255, 8)])
def test_a_gif_frame_with_its_own_colour_table_keeps_its_pixels_outside_the_regions(colours, most_changed):
    """Such a frame shows more than 256 colours: Pillow quantised it whole and 2490 of its 4032 pixels outside the
    region changed, by up to 46 levels. Now it is written as what changed since the frame before: exact when that
    fits in 255 colours with the region's blocks, else the few colours past 255 take their nearest."""
    data = gif_with_a_local_colour_table(colours)
    before = frames(data)
    assert len(before[1].getcolors(1 << 16)) > 256
    result = pixelate_bytes(data, 4, regions="0,0,8,8")
    after = frames(result.data)
    assert len(after) == 2 and changed_outside(before[0], after[0], result) == 0
    assert changed_outside(before[1], after[1], result) <= most_changed
    for frame in after:
        assert_flat_blocks(frame, result.regions[0])


def test_gif_frames_of_too_many_colours_have_their_errors_put_right_when_they_can():
    """A frame whose changes hold more than 255 colours is quantised, leaving pixels wrong. The next frame's
    changes were taken against the input's frame before, so a pixel it kept stayed wrong; they are taken against
    what the viewer shows when that leaves fewer pixels wrong."""
    from pixelate.image.encode import Animation, encode

    first = Image.new("RGB", (48, 48), (10, 20, 30)).quantize(4)
    busy = Image.merge("RGB", [Image.effect_noise((48, 48), 90 + 5 * band) for band in range(3)])  # ~2300 colours
    calm = Image.new("RGB", (48, 48), (200, 100, 50))
    calm.paste(busy.crop((8, 8, 16, 16)), (8, 8))  # the same 64 noisy pixels as the frame before, the rest flat
    data = encode([first, busy, calm], "GIF", animation=Animation([100] * 3, 0))
    shown = frames(data)
    assert len(shown) == 3 and ImageChops.difference(shown[1].convert("RGB"), busy).getbbox() is not None
    assert ImageChops.difference(shown[2].convert("RGB"), calm).getbbox() is None  # the 64 are put right


def test_alpha_weighted_blocks_in_a_region():
    # half transparent red, half opaque blue inside one block: the block is blue, never a purple tint
    image = Image.new("RGBA", (32, 32), (0, 255, 0, 255))
    image.paste((255, 0, 0, 0), (0, 0, 8, 16))
    image.paste((0, 0, 255, 255), (8, 0, 16, 16))
    result = pixelate_bytes(png(image), 16, regions="0,0,16,16")
    (after,) = frames(result.data)
    red, green, blue, alpha = after.getpixel((3, 3))
    assert (red, green, blue) == (0, 0, 255) and 120 <= alpha <= 136
    assert after.getpixel((20, 20)) == (0, 255, 0, 255)


def test_a_palette_png_with_an_alpha_per_index_keeps_its_transparency_in_a_region():
    """PNG8 with alpha (pngquant's kind): a tRNS alpha per index. A see-through area stays see-through, and an
    opaque one never takes a half-transparent entry whose colour happens to be close."""
    image = Image.new("P", (32, 32), 0)
    # 0: red, see-through; 1: black; 2: white; 3: grey at alpha 128
    image.putpalette([255, 0, 0, 0, 0, 0, 255, 255, 255, 128, 128, 128] + [0] * (252 * 3))
    image.paste(1, (16, 0, 32, 32))
    for x in range(16, 32, 2):  # a black and white stripes: mid-grey blocks
        image.paste(2, (x, 0, x + 1, 32))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", transparency=bytes([0, 255, 255, 128]))
    before = frames(buffer.getvalue())[0]
    result = pixelate_bytes(buffer.getvalue(), 8, regions="0,0,32,16")
    after = Image.open(io.BytesIO(result.data))
    assert after.mode == "P"
    (after,) = frames(result.data)
    assert {after.getpixel((x, y))[3] for x in range(16) for y in range(16)} == {0}
    assert {after.getpixel((x, y))[3] for x in range(16, 32) for y in range(16)} == {255}
    assert changed_outside(before, after, result) == 0


def test_a_tiffs_page_of_another_size_gets_each_region_on_the_same_share_of_it():
    """A scanner's or a camera's TIFF holds reduced copies of its first page (a preview, a pyramid): a region in
    pixels is of the first page, scaled to a page of another size (rounded outward), a fraction of each page's
    own size. Before, pixels were applied as they were, clipped: the preview's copy of the region came out as it
    went in, bit for bit."""
    first = Image.effect_noise((400, 300), 60).convert("RGB")
    preview = first.resize((200, 150), Image.Resampling.LANCZOS)
    larger = first.resize((800, 600))
    buffer = io.BytesIO()
    first.save(buffer, "TIFF", save_all=True, append_images=[preview, larger])
    data = buffer.getvalue()
    for asked, on_preview, on_larger in (((100, 100, 200, 100), (50, 50, 150, 100), (200, 200, 600, 400)),
                                         ((0.25, 1 / 3, 0.5, 1 / 3), (50, 49, 150, 100), (200, 199, 600, 400)),
                                         ((101, 99, 99, 3), (50, 49, 100, 51), (202, 198, 400, 204))):
        pages = frames(pixelate_bytes(data, 8, regions=[asked]).data)
        assert [page.size for page in pages] == [(400, 300), (200, 150), (800, 600)]
        for page, source, (x0, y0, x1, y1) in ((pages[1], preview, on_preview), (pages[2], larger, on_larger)):
            box = {"x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0, "block": 8}
            assert_flat_blocks(page.convert("RGB"), box)  # (blocks from the scaled box's corner)
            result = SimpleNamespace(regions=[box])
            assert changed_outside(source.convert("RGBA"), page, result) == 0, asked


def test_regions_are_in_the_upright_image_of_an_oriented_jpeg():
    stored = Image.new("RGB", (64, 32), (250, 250, 250))  # stored on its side: 64 wide, 32 high
    stored.paste((0, 0, 0), (0, 0, 8, 32))  # a dark band on the stored image's left: the upright top (orientation 6)
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=95)
    data = with_exif_orientation(buffer.getvalue(), 6)
    result = pixelate_bytes(data, 8, regions="0,0,32,8")  # the upright image's top band
    assert (result.width, result.height) == (32, 64)
    (after,) = frames(result.data)
    assert max(after.crop((0, 0, 32, 8)).convert("L").getextrema()) < 60  # the band, now pixelated, is at the top
    assert min(after.crop((0, 16, 32, 64)).convert("L").getextrema()) > 200


# --- JPEG in the DCT domain -------------------------------------------------------------------------------


needs_libjpeg = pytest.mark.skipif(not libjpeg.available(), reason="Pillow's bundled libjpeg is not loadable here")


def photo(width: int, height: int, **save) -> bytes:
    image = Image.open(io.BytesIO(photo_jpeg(width, height)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **({"quality": 90} | save))
    return buffer.getvalue()


SAVES = {"baseline-420": {}, "progressive": {"progressive": True}, "444": {"subsampling": 0}, "422": {"subsampling": 1}}
#: the pixels one chroma block covers (across, down), by how Pillow saved the JPEG
CHROMA_BLOCK = {"baseline-420": (16, 16), "progressive": (16, 16), "444": (8, 8), "422": (16, 8)}


@needs_libjpeg
@pytest.mark.parametrize("saved", list(SAVES))
@pytest.mark.parametrize("block", [8, 16, 32])
def test_an_upright_jpeg_keeps_every_block_outside_its_regions(saved, block):
    data = photo(640, 480, **SAVES[saved])
    result = pixelate_bytes(data, block, regions="100,60,150,120;400,300,90,90")
    (before,), (after,) = frames(data), frames(result.data)
    # Beyond the boxes nothing was decoded and encoded again: the pixels are the input's own, except where the
    # decoder's chroma upsampling blends a box's edge into its neighbour (one pixel with 4:2:0 and 4:2:2).
    assert changed_outside(before, after, result, margin=1) == 0
    assert changed_outside(before, after, result, margin=0) <= 2 * sum(b["w"] + b["h"] + 2 for b in result.regions) * 2
    slow = pixelate_bytes(data, block, regions="100,60,150,120;400,300,90,90", fast=False)
    assert changed_outside(before, frames(slow.data)[0], slow, margin=1) > 1000  # the general path re-encodes
    # A drawn region grows to whole blocks of every component (16 px where chroma is subsampled), so that its
    # colour is pixelated over all of it: inside, each block is one colour but for its edge pixels' chroma blending
    ux, uy = CHROMA_BLOCK[saved]
    grown = [(100 // ux * ux, 60 // uy * uy, -(-250 // ux) * ux, -(-180 // uy) * uy),
             (400 // ux * ux, 300 // uy * uy, -(-490 // ux) * ux, -(-390 // uy) * uy)]
    assert [(b["x"], b["y"], b["x"] + b["w"], b["y"] + b["h"]) for b in result.regions] == grown
    for box in result.regions:
        size = box["block"]
        for top in range(box["y"], box["y"] + box["h"], size):
            for left in range(box["x"], box["x"] + box["w"], size):
                interior = after.crop((left + 1, top + 1, min(left + size, box["x"] + box["w"]) - 1,
                                       min(top + size, box["y"] + box["h"]) - 1))
                assert len(interior.getcolors(1 << 16)) == 1, (box, left, top)


@needs_libjpeg
@pytest.mark.parametrize("saved", list(SAVES))
@pytest.mark.parametrize("block", [8, 16, 32])
def test_a_face_box_grows_only_to_whole_luma_blocks_and_keeps_the_chroma_blocks_it_partly_covers(saved, block):
    data = photo(630, 470, **SAVES[saved])  # not multiples of 16: the last blocks are cut by the image's edge
    boxes = [(100, 60, 250, 180), (400, 300, 490, 390), (590, 430, 630, 470)]  # the last at the corner
    pixelated, grown = jpeg_regions.pixelate_jpeg_regions(data, [(box, block, True) for box in boxes])
    # 8 px luma blocks, never 16 px MCUs (100,60 -> 96,56; 250,180 -> 256,184), clipped at the image's edge
    assert grown == [(96, 56, 256, 184), (400, 296, 496, 392), (584, 424, 630, 470)]
    result = SimpleNamespace(data=pixelated, regions=[{"x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0, "block": block}
                                                      for x0, y0, x1, y1 in grown])
    (before,), (after,) = frames(data), frames(pixelated)
    assert changed_outside(before, after, result, margin=1) == 0
    assert_flat_in_the_dct_domain(result, CHROMA_BLOCK[saved])


def test_the_luma_sets_the_growth_even_where_chroma_is_sampled_finer_and_cmyk_grows_to_every_component():
    """Geometry alone (no file): a face box grows to whole blocks of component 0, which lie wholly inside it, so
    the luma is never left sharp; four components all carry detail and keep the growth to every component."""
    def header(sampling):
        return jpeg_regions.Header(200, 144, 0xC0, sampling, (0,) * len(sampling), {0: (1,) * 64}, (), 0)

    finer_chroma = jpeg_regions.plan(header(((1, 1), (2, 2), (2, 2))), (24, 40, 34, 50), 16, luma_edges=True)
    assert finer_chroma.box == (16, 32, 48, 64)  # the luma's 16 px blocks
    luma, cb, _ = finer_chroma.cells
    assert (luma.r0, luma.r1, luma.c0, luma.c1) == (2, 4, 1, 3)  # every luma block the box touches
    assert (cb.r0, cb.r1, cb.c0, cb.c1) == (4, 8, 2, 6)
    mixed = jpeg_regions.plan(header(((2, 1), (1, 2), (1, 1))), (13, 21, 63, 61), 8, luma_edges=True)
    assert mixed.box == (8, 16, 64, 64) and (mixed.cells[0].c0, mixed.cells[0].c1) == (1, 8)
    cmyk = jpeg_regions.plan(header(((2, 2), (1, 1), (1, 1), (1, 1))), (24, 40, 34, 50), 16, luma_edges=True)
    assert cmyk.box == (16, 32, 48, 64)  # 16 px: whole blocks of every component
    drawn = jpeg_regions.plan(header(((2, 2), (1, 1), (1, 1))), (24, 40, 34, 50), 16)
    assert drawn.box == (16, 32, 48, 64)
    face = jpeg_regions.plan(header(((2, 2), (1, 1), (1, 1))), (24, 40, 34, 50), 16, luma_edges=True)
    assert face.box == (24, 40, 40, 56) and (face.cells[1].c1 - face.cells[1].c0, face.cells[1].r1 - face.cells[1].r0) == (0, 0)


def assert_flat_in_the_dct_domain(result, chroma_block: tuple[int, int]) -> None:
    """Inside each box the luma of every cell is one value (the JPEG's own Y plane, no colour conversion); the
    chroma is one value per cell of the chroma blocks wholly inside the box (``chroma_block``: the pixels one
    chroma block covers, across and down), but for the one-pixel edges the decoder's chroma upsampling blends."""
    image = Image.open(io.BytesIO(result.data))
    image.draft("YCbCr", image.size)  # decode to Y, Cb, Cr: no conversion to RGB
    luma, cb, cr = image.convert("YCbCr").split()
    ux, uy = chroma_block
    for box in result.regions:
        size, x0, y0, x1, y1 = box["block"], box["x"], box["y"], box["x"] + box["w"], box["y"] + box["h"]
        for top in range(y0, y1, size):
            for left in range(x0, x1, size):
                cell = luma.crop((left, top, min(left + size, x1), min(top + size, y1)))
                assert len(cell.getcolors(256)) == 1, ("luma", box, left, top)
        # the chroma cells: lcm(block, unit) px from the first chroma block wholly inside the box
        across, down = math.lcm(size, ux), math.lcm(size, uy)
        cx0, cy0 = -(-x0 // ux) * ux, -(-y0 // uy) * uy
        cx1, cy1 = x1 // ux * ux, y1 // uy * uy
        assert cx1 - cx0 >= ux and cy1 - cy0 >= uy
        for top in range(cy0, cy1, down):
            for left in range(cx0, cx1, across):
                inner = (left + 1, top + 1, min(left + across, cx1) - 1, min(top + down, cy1) - 1)
                for plane in (cb, cr):
                    assert len(plane.crop(inner).getcolors(256)) == 1, ("chroma", box, left, top)


@needs_libjpeg
def test_the_dct_path_keeps_the_icc_profile_and_drops_exif_gps():
    data = (CORPUS / "exif_gps.jpg").read_bytes()
    result = pixelate_bytes(data, 16, regions="0,0,16,16")
    output = Image.open(io.BytesIO(result.data))
    assert not output.getexif() and b"Exif" not in result.data[:4096]
    icc = (CORPUS / "icc_profile_big.jpg").read_bytes()
    assert Image.open(io.BytesIO(pixelate_bytes(icc, 16, regions="0,0,16,16").data)).info.get("icc_profile") == \
        Image.open(io.BytesIO(icc)).info.get("icc_profile")


@needs_libjpeg
def test_a_block_that_is_not_a_multiple_of_eight_touches_only_the_blocks_of_its_region():
    data = photo(320, 240)
    result = pixelate_bytes(data, 10, regions="100,100,55,45")
    (before,), (after,) = frames(data), frames(result.data)
    assert changed_outside(before, after, result, margin=16) == 0  # re-quantised at most within one MCU
    assert changed_outside(before, after, result, margin=0) > 0


@needs_libjpeg
def test_damaged_jpegs_still_get_their_reason_with_regions():
    data = (CORPUS / "truncated_jpeg.jpg").read_bytes()
    with pytest.raises(PixelateError) as caught:
        pixelate_bytes(data, 16, regions="0,0,10,10")
    assert caught.value.reason == "corrupt"


def test_a_region_marked_as_a_face_gets_a_faces_block_whatever_the_pixel_size():
    data = (SAMPLES / "astronaut.png").read_bytes()
    result = pixelate_bytes(data, 4, regions="178,60,94,120,face;0,0,40,40")
    face, area = result.regions
    assert face["source"] == "face" and "score" not in face and face["block"] == 16  # 120 px: at most 8 blocks
    assert area["source"] == "manual" and area["block"] == 4
    assert pixelate_bytes(data, 4, regions="178,60,94,120,face", face_blocks=0).regions[0]["block"] == 4
    (after,) = frames(result.data)
    assert_flat_blocks(after, face)


def test_overlapping_regions_leave_no_pixel_unpixelated():
    # two boxes with their own grids: where they overlap the later (coarser) one is drawn over the earlier; every
    # pixel of either lies in a flat block of the one drawn last there
    data = (SAMPLES / "astronaut.png").read_bytes()
    result = pixelate_bytes(data, 8, regions="100,100,100,100;150,150,100,100,face")
    first, second = result.regions
    assert second["block"] >= first["block"]
    (after,) = frames(result.data)
    assert_flat_blocks(after, second)
    covered_by_second = Image.new("L", after.size, 0)
    covered_by_second.paste(255, (second["x"], second["y"], second["x"] + second["w"], second["y"] + second["h"]))
    size = first["block"]
    for top in range(first["y"], first["y"] + first["h"], size):
        for left in range(first["x"], first["x"] + first["w"], size):
            cell = (left, top, min(left + size, first["x"] + first["w"]), min(top + size, first["y"] + first["h"]))
            part = after.crop(cell)
            part.paste((1, 2, 3, 4), mask=covered_by_second.crop(cell))  # the part the second box covers, set aside
            assert len([c for _, c in part.getcolors(1 << 16) if c != (1, 2, 3, 4)]) <= 1, cell
