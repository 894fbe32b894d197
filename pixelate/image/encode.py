"""Encode pixelated frames: the output format follows the decoded format, and only safe metadata survives.

Kept: the ICC colour profile (colours must not shift). Dropped: EXIF (GPS above all), XMP, comments, and
every other chunk the input carried: frames are saved from clean ``info`` dictionaries.
"""
from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from typing import NamedTuple

from PIL import Image, ImageChops, features

from pixelate.image import ops
from pixelate.image.fast import png_fast
from pixelate.image.result import Result

CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
    "AVIF": "image/avif",
}

# Modes each output format stores faithfully; anything else is converted to the first mode that fits.
_MODES = {
    "JPEG": ("RGB", "L", "CMYK"),
    "PNG": ("RGB", "RGBA", "L", "LA", "I", "P"),
    "GIF": ("RGB", "RGBA", "L", "P"),
    "WEBP": ("RGB", "RGBA"),
    "TIFF": ("RGB", "RGBA", "L", "LA", "I", "F", "CMYK"),
    "BMP": ("RGB", "RGBA", "L"),
    "AVIF": ("RGB", "RGBA"),
}


class Grid(NamedTuple):
    """One frame reduced to its blocks: a pixel per block, and the (upright) size it is enlarged to."""

    picture: Image.Image
    size: tuple[int, int]


@dataclass
class Animation:
    """What an animation needs besides its frames: one duration per frame (ms), the loop count, and whether the
    first frame is an APNG's default image (shown by viewers that do not animate; not a frame of the animation)."""

    durations: list[float] = field(default_factory=list)
    loop: int | None = None
    default_image: bool = False


def output_format(input_format: str) -> str:
    """The format a pixelated copy is written in: the input's own, except MPO and HEIC, which become JPEG."""
    if input_format in ("MPO", "HEIF"):
        return "JPEG"
    if input_format == "AVIF" and not features.check("avif"):
        return "PNG"
    return input_format


def fit_mode(image: Image.Image, fmt: str) -> Image.Image:
    """Convert ``image`` to a mode ``fmt`` can store, keeping alpha where the format has it."""
    allowed = _MODES[fmt]
    if image.mode == "I" and fmt in ("PNG", "TIFF"):
        # 32-bit grey only ever comes from 16-bit input here: store it as 16-bit again.
        wide = image.convert("I;16")
        if "transparency" in image.info:
            wide.info["transparency"] = image.info["transparency"]
        return wide
    if image.mode in allowed:
        return image
    alpha = image.mode in ("RGBA", "LA", "La", "RGBa", "PA")
    grey = image.mode in ("L", "LA", "La", "I", "F")
    if fmt == "PNG" and image.mode == "F":
        return image.convert("I")
    if grey and not alpha and "L" in allowed:
        return _to_8bit_grey(image)
    if alpha and "RGBA" in allowed:
        return image.convert("RGBA")
    if alpha:  # JPEG has no alpha: flatten onto white, as viewers show transparency
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def on_first_canvas(frames: list[Image.Image]) -> list[Image.Image]:
    """An animation's frames on one canvas, the first frame's, whose origin does not move: a frame of another size
    cut (or padded) to it. Pillow grows a GIF's canvas for a later frame that reaches past the logical screen: such
    a frame reached the encoder larger than the first, and the exact-colour GIF frames below, comparing each frame
    with the one before pixel for pixel, raised ValueError ("images do not match"); Pillow's writer kept what lay
    past the first canvas in a transparent GIF, and left it out of an opaque one."""
    return [on_canvas(frame, frames[0].size) for frame in frames]


def on_canvas(picture: Image.Image, canvas: tuple[int, int]) -> Image.Image:
    """``picture`` cut (or padded) to a ``canvas``-sized canvas whose origin is its own (``on_first_canvas``)."""
    return picture if picture.size == canvas else picture.crop((0, 0, *canvas))


def to_palette(image: Image.Image) -> Image.Image:
    """A palette image for GIF, as Pillow's GIF writer would make it: an adaptive palette, and the colour
    of fully transparent pixels as the transparent index."""
    if image.mode in ("P", "L"):
        return image
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    paletted = image.convert("P", palette=Image.Palette.ADAPTIVE)
    if paletted.palette is not None and paletted.palette.mode == "RGBA":
        for rgba, index in paletted.palette.colors.items():
            if rgba[3] == 0:
                paletted.info["transparency"] = index
                break
    return paletted


def exact_gif_frames(frames: list[Image.Image]) -> list[Image.Image]:
    """Opaque GIF frames, each showing more than 256 colours (a GIF whose frames carry their own colour tables,
    composed one over the other) as only what changed, the rest transparent, to be drawn over the frame before
    (disposal 1: the frames are opaque, so nothing needs clearing). Without this Pillow quantises such a frame
    whole, and pixels no region covers change colour.

    What changed is taken against what the viewer shows by then (pixels an earlier frame had to leave wrong are
    then put right) or against the frame before as it is (fewer colours to fit), whichever leaves fewer pixels
    wrong; exact when the colours fit in 255 (an encoder that writes a table per frame keeps one for
    transparency), else quantised alone."""
    if all(frame.mode == "P" for frame in frames):
        return frames  # every frame in its own colours already: nothing to do
    out: list[Image.Image] = []
    previous = on_screen = None  # the frame before, as it is, and as the viewer shows it
    for frame in frames:
        wanted = frame.convert("RGB")
        if frame.mode != "P" and on_screen is not None:
            befores = (on_screen,) if ImageChops.difference(on_screen, previous).getbbox() is None else (on_screen, previous)
            frame, on_screen = min((_drawn_over(wanted, before, on_screen) for before in befores),
                                   key=lambda drawn: drawn[2])[:2]
        elif frame.mode != "P":  # the first frame: exact if it can be, else quantised here, so its look is known
            frame = exact_palette(frame) or wanted.quantize(256, dither=Image.Dither.NONE)
            on_screen = frame.convert("RGB")
        else:
            on_screen = wanted  # (never changed in place: each frame drawn over it makes a new one)
        out.append(frame)
        previous = wanted
    return out


def _drawn_over(wanted: Image.Image, before: Image.Image, on_screen: Image.Image) -> tuple[Image.Image, Image.Image, int]:
    """The frame of what ``wanted`` changed from ``before``, what the viewer then shows over ``on_screen``, and how
    many of its pixels are not ``wanted``'s."""
    changed = _changed(wanted, before)
    frame = _exact_changes(wanted, changed) or _quantised_changes(wanted, changed)
    shown = on_screen.copy()
    shown.paste(frame.convert("RGB"), mask=changed)
    return frame, shown, _changed(wanted, shown).histogram()[255]


def _changed(wanted: Image.Image, before: Image.Image) -> Image.Image:
    """A mask, 255 where ``wanted`` differs from ``before`` (RGB)."""
    red, green, blue = ImageChops.difference(wanted, before).split()
    return ImageChops.lighter(ImageChops.lighter(red, green), blue).point(lambda v: 255 if v else 0)


def _exact_changes(wanted: Image.Image, changed: Image.Image) -> Image.Image | None:
    """The pixels of ``wanted`` where ``changed``, in their exact colours, transparent elsewhere; None past 255."""
    changes = Image.new("RGBA", wanted.size, (0, 0, 0, 0))
    changes.paste(wanted, mask=changed)
    return exact_palette(changes)


def _quantised_changes(shown: Image.Image, changed: Image.Image) -> Image.Image:
    """The pixels of ``shown`` where ``changed`` in at most 255 colours, index 255 transparent elsewhere. A few
    colours too many (a frame's own 255 and a region's blocks): the 255 most frequent stay exact, the rest take
    the nearest of them; more: Pillow's quantiser, on the box that holds the changes."""
    box = changed.getbbox() or (0, 0, 1, 1)
    part, mask = shown.crop(box), changed.crop(box)
    counted = Image.new("RGBA", part.size, (0, 0, 0, 0))
    counted.paste(part, mask=mask)
    colours = sorted(((count, colour[:3]) for count, colour in counted.getcolors(2 * _GIF_COLOURS + 1) or [] if colour[3]),
                     reverse=True)
    if colours:  # (getcolors answers None past 2 × 255 colours: then the quantiser)
        part.paste(colours[0][1], mask=ImageChops.invert(mask))  # (the unchanged: transparent below)
        quantised = _indexed(part, sorted(colour for _, colour in colours[:_GIF_COLOURS]))
    else:
        quantised = part.quantize(_GIF_COLOURS, dither=Image.Dither.NONE)
    palette = (quantised.getpalette() or [])[: 3 * _GIF_COLOURS]
    frame = Image.new("P", shown.size, _GIF_COLOURS)
    frame.putpalette(palette + [0, 0, 0] * (256 - len(palette) // 3))
    frame.paste(quantised, box[:2])
    frame.paste(_GIF_COLOURS, mask=ImageChops.invert(changed))
    frame.info["transparency"] = _GIF_COLOURS
    return frame


def _indexed(rgb: Image.Image, colours: list[tuple[int, ...]]) -> Image.Image:
    """``rgb`` as a palette image of ``colours`` (sorted), each pixel the index of its own colour, or of the
    nearest one for a colour not among them. Pillow's quantize(palette=) alone cannot do this: it looks colours
    up in a cache of 4×4×8-level cells, so 101,101,101 came out as 100,100,100. Its answer is kept where a pixel
    kept its colour (fast, in C), and numpy (imported here only) maps the others."""
    reference = Image.new("P", (1, 1))
    reference.putpalette([value for colour in colours + [colours[0]] * (256 - len(colours)) for value in colour])
    paletted = rgb.quantize(palette=reference, dither=Image.Dither.NONE)
    paletted.putpalette([value for colour in colours for value in colour])
    wrong = _changed(rgb, paletted.convert("RGB"))
    if wrong.getbbox() is None:
        return paletted
    import numpy as np

    where = np.flatnonzero(np.asarray(wrong))
    pixels = np.asarray(rgb).reshape(-1, 3)[where].astype(np.int64)
    keys = (pixels[:, 0] << 16) | (pixels[:, 1] << 8) | pixels[:, 2]
    table = np.array([(r << 16) | (g << 8) | b for r, g, b in colours], dtype=np.int64)
    indices = np.minimum(np.searchsorted(table, keys), len(colours) - 1)
    missing = table[indices] != keys
    if missing.any():  # the nearest colour, once per colour missing
        others, inverse = np.unique(keys[missing], return_inverse=True)
        wanted = np.stack([others >> 16, (others >> 8) & 255, others & 255], axis=1)
        entries = np.array(colours, dtype=np.int64)
        nearest = ((wanted[:, None, :] - entries[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        indices[missing] = nearest[inverse.ravel()]
    flat = np.array(paletted, dtype=np.uint8).reshape(-1)
    flat[where] = indices
    fixed = Image.frombytes("P", rgb.size, flat.tobytes())
    fixed.putpalette([value for colour in colours for value in colour])
    return fixed


#: colours a GIF frame drawn over the one before may use: the 256th index is its transparency
_GIF_COLOURS = 255


def exact_palette(image: Image.Image) -> Image.Image | None:
    """``image`` as a palette image with exactly its own colours, or None when it shows more than 256 (GIF keeps
    one bit of alpha: pixels under half opacity become the transparent index).

    Pillow's quantisers approximate even when the colours would fit; this keeps every pixel's colour, so that
    pixels a region does not cover come out of a GIF as they went in.
    """
    rgba = image.convert("RGBA")
    colours = rgba.getcolors(256)
    if colours is None:
        return None
    opaque = sorted({colour[:3] for _, colour in colours if colour[3] >= 128})
    transparent = any(colour[3] < 128 for _, colour in colours)
    if len(opaque) + transparent > 256 or not opaque:
        return None
    rgb = rgba.convert("RGB")
    see_through = rgba.getchannel("A").point(lambda alpha: 255 if alpha < 128 else 0)
    if transparent:  # (their colour is no entry: index 0 for now, the transparent index below)
        rgb.paste(opaque[0], mask=see_through)
    paletted = _indexed(rgb, opaque)
    if transparent:
        index = len(opaque)
        palette = paletted.getpalette()[: 3 * len(opaque)] + [0, 0, 0]
        paletted.putpalette(palette)
        paletted.paste(index, mask=see_through)
        paletted.info["transparency"] = index
    return paletted


def _to_8bit_grey(image: Image.Image) -> Image.Image:
    """Grey to ``L``: 16/32-bit values are scaled into 0..255, not clipped (clipping crushes them to white)."""
    if image.mode in ("I", "F"):
        return image.point(lambda v: v * (1 / 257)).convert("L")
    return image.convert("L")


def save_params(fmt: str, icc_profile: bytes | None, block_size: int = 16) -> dict:
    """Encoder settings per format: compact, fast, and with nothing from the input but the ICC profile."""
    params: dict = {}
    if icc_profile and fmt in ("JPEG", "PNG", "WEBP", "TIFF", "AVIF"):
        params["icc_profile"] = icc_profile
    if fmt == "JPEG":
        # No optimize=True: its second pass makes flat-block output ~10% smaller but costs ~35 ms at 12 MP,
        # more than the tutorial code's whole encode (the fast path in jpeg_dc.py writes optimal tables itself).
        # 4:2:0 averages chroma over 2x2 cells. With an even block size every cell lies inside one block, so
        # the encoder keeps each block's colour; decoders then blend chroma about a pixel deep at block
        # edges, exactly as in the fast path's 4:2:0 output for multiples of 16 (tests/test_jpeg_chroma.py
        # measures both). With an odd size, cells straddle edges and the encoder itself mixes two blocks'
        # colours, so odd sizes keep full-resolution chroma. Even sizes gain ~2.5 ms per 2 MP of encoding,
        # which is what puts block 10 ahead of the tutorial code; mean error stays under 1.5 levels.
        params.update(quality=90, subsampling=2 if block_size % 2 == 0 else 0)
    elif fmt == "PNG":
        # Flat blocks compress well at any level: at 12 MP level 3 encodes in ~140 ms, level 6 in ~220 ms
        # (output ~1.8x smaller), optimize=True in ~410 ms. Decoding the input (~500 ms) dominates either way.
        # compress_type 3 is zlib's run-length strategy: flat blocks halve in size for the same time.
        params.update(compress_level=3, compress_type=3)
    elif fmt == "WEBP":
        # Lossless: flat blocks are cheap for it, and lossy WebP rings at every block edge.
        params.update(lossless=True, quality=50, method=1)
    elif fmt == "TIFF":
        params.update(compression="tiff_adobe_deflate")
    elif fmt == "AVIF":
        params.update(quality=90, speed=8)
    return params


def encode(
    frames: list[Image.Image],
    fmt: str,
    icc_profile: bytes | None = None,
    animation: Animation | None = None,
    block_size: int = 16,
    keep: dict | None = None,
) -> bytes:
    """Encode one frame, or every frame of an animation or multi-page file, in ``fmt``.

    ``keep``: settings of the input to keep instead of the defaults, e.g. a JPEG's own ``qtables`` and
    ``subsampling`` when only regions of it were pixelated (the rest should look as it did).
    """
    frames = [_clean(fit_mode(frame, fmt)) for frame in frames]
    animated = len(frames) > 1
    params = save_params(fmt, icc_profile, block_size)
    if keep:
        params = {key: value for key, value in params.items() if key != "quality"} | dict(keep)
    if animated:
        if fmt in ("GIF", "WEBP", "PNG") and animation is not None:
            frames = on_first_canvas(frames)
            params.update(_animation_params(fmt, frames, animation))
        if fmt == "GIF" and params.get("disposal") == 1:
            frames = exact_gif_frames(frames)
        params.update(save_all=True, append_images=frames[1:])
    if fmt == "BMP" and frames[0].mode == "RGBA":
        return bmp_with_alpha(frames[0])
    out = io.BytesIO()
    frames[0].save(out, format=fmt, **params)
    return out.getvalue()


def encode_grids(
    grids: list[Grid], durations: list[float], block_size: int, fmt: str,
    icc_profile: bytes | None = None, loop: int | None = None, default_image: bool = False,
) -> Result:
    """The frames of ``grids`` enlarged to ``block_size`` blocks and encoded in ``fmt``.

    A still PNG is written straight from its grid, without making the enlarged image (``fast.png_fast``);
    repeated frames of an animation are folded (``merge_repeated_frames``).
    """
    count = len(grids)
    if count == 1 and fmt == "PNG":
        grid, output_size = grids[0]
        data = png_from_grid(grid, block_size, output_size, icc_profile)
        if data is not None:
            return Result(data, CONTENT_TYPES["PNG"], "PNG", *output_size, 1)
    if count > 1 and fmt in ("GIF", "PNG", "WEBP"):
        grids, durations = merge_repeated_frames(grids, durations, default_image)
    frames = [ops.enlarge_blocks(grid, block_size, output_size) for grid, output_size in grids]
    del grids
    animation = Animation(durations=durations, loop=loop, default_image=default_image) if count > 1 else None
    data = encode(frames, fmt, icc_profile, animation, block_size=block_size)
    width, height = frames[0].size
    return Result(data, CONTENT_TYPES[fmt], fmt, width, height, len(frames))


def merge_repeated_frames(grids: list[Grid], durations: list[float], default_image: bool = False) -> tuple[list[Grid], list[float]]:
    """Fold each frame identical to the one before into it, adding its duration (an APNG's default image, the
    first frame with ``default_image``, is no frame of the animation: never folded).

    Coarse blocks often make consecutive frames identical; Pillow's GIF and APNG writers fold those anyway,
    so folding them here keeps the reported frame count true and the total duration unchanged. Frames are
    compared as grids: enlarging is nearest-neighbour, so equal grids of equal output size are equal frames.
    """
    kept, kept_durations = [grids[0]], [durations[0]]
    for index, (frame, duration) in enumerate(zip(grids[1:], durations[1:]), 1):
        if not (default_image and index == 1) and frame[1] == kept[-1][1] and _same_picture(frame[0], kept[-1][0]):
            kept_durations[-1] += duration
        else:
            kept.append(frame)
            kept_durations.append(duration)
    return kept, kept_durations


def _same_picture(a: Image.Image, b: Image.Image) -> bool:
    """Pixels, palette and transparent index all equal (palette images can share indices, not colours)."""
    if (a.mode, a.size) != (b.mode, b.size) or a.tobytes() != b.tobytes():
        return False
    if a.mode == "P":
        return a.getpalette() == b.getpalette() and a.info.get("transparency") == b.info.get("transparency")
    return True


def png_from_grid(grid: Image.Image, block_size: int, output_size: tuple[int, int], icc_profile: bytes | None = None) -> bytes | None:
    """A still PNG of ``grid`` enlarged to ``block_size`` blocks, written without enlarging it in memory,
    or ``None`` when its mode needs Pillow's writer (16-bit, palette, a transparent colour)."""
    return png_fast.encode_blocks(_clean(fit_mode(grid, "PNG")), block_size, output_size, icc_profile)


def bmp_with_alpha(image: Image.Image) -> bytes:
    """A 32-bit BMP with an alpha channel (BITMAPV5HEADER, BI_BITFIELDS), which Pillow cannot write.

    Pillow writes RGBA as BGRX, which every reader then shows opaque; the V5 header's alpha mask keeps it.
    """
    width, height = image.size
    # Rows bottom-up, pixels as B, G, R, A.
    pixels = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM).tobytes("raw", "BGRA")
    header_size, offset = 124, 14 + 124
    info = struct.pack(
        "<IiiHHIIiiII",
        header_size, width, height, 1, 32, 3,  # BI_BITFIELDS
        len(pixels), 2835, 2835, 0, 0,  # 72 dpi
    )
    masks = struct.pack("<IIII", 0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000)
    colour_space = b"BGRs" + bytes(36) + bytes(12)  # LCS_sRGB; endpoints and gamma unused
    tail = struct.pack("<IIII", 4, 0, 0, 0)  # intent LCS_GM_IMAGES, no profile
    v5 = info + masks + colour_space + tail
    assert len(v5) == header_size
    file_header = b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset)
    return file_header + v5 + pixels


def _animation_params(fmt: str, frames: list[Image.Image], animation: Animation) -> dict:
    """Durations, loop count and frame disposal so that full frames replace each other cleanly."""
    default_image = fmt == "PNG" and animation.default_image  # (Pillow's durations are then of the frames after it)
    durations = animation.durations[1:] if default_image else animation.durations
    params: dict = {"duration": [max(0, round(d)) for d in durations] or 100}
    if animation.loop is not None:
        params["loop"] = animation.loop
    transparent = any(f.mode in ("RGBA", "LA", "P") and f.has_transparency_data for f in frames)
    if fmt == "GIF":
        # Each frame is complete, so clear to the background when frames are transparent (else they stack).
        params["disposal"] = 2 if transparent else 1
        params["optimize"] = False
    elif fmt == "PNG":
        params.update(disposal=0, blend=0)  # APNG: no disposal, and each frame *replaces* the canvas (OP_SOURCE)
        if default_image:
            params["default_image"] = True
    elif fmt == "WEBP":
        params["minimize_size"] = False
    return params


def _clean(image: Image.Image) -> Image.Image:
    """Drop every metadata chunk the frame inherited (EXIF, XMP, comments, text)."""
    image.info = {k: v for k, v in image.info.items() if k == "transparency" and image.mode in ("P", "L", "RGB", "I;16")}
    return image
