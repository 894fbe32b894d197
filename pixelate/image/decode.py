"""Decoding one frame: at the coarsest scale the block means allow, upright, in screen colours.

Decoding dominates the time (see the README's Speed section), so a frame is decoded no finer than its
pixelation needs: a JPEG at 1/2, 1/4 or 1/8 in the DCT domain when that scale divides the block, a still PNG
through ``fast.png_fast`` (the same pixels, inflated on another thread). Every failure while decoding is
classified by ``guard.decoding``.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from pixelate.image import orient
from pixelate.image.fast import png_fast
from pixelate.image.guard import decoding


@dataclass
class Frame:
    """A decoded frame, upright and in a screen colour model.

    ``picture`` may be decoded at 1/``scale`` (each of its pixels the mean of a scale×scale cell of the
    frame); ``size`` is the upright frame's full size, which the output has.
    """

    picture: Image.Image
    scale: int
    size: tuple[int, int]


def draft_scale(image: Image.Image, size: int, method: str) -> int:
    """The largest JPEG DCT scale (8, 4, 2) that divides ``size`` and keeps block means exact, or 1.

    Scaled decoding is declined where it is measurably wrong: 4:2:2-family chroma (libjpeg's scaled
    upsampling of it is off by several levels) and sides that are not whole cells (a cut cell's DC
    includes the encoder's padding, yet ``reduce`` would weigh it as a whole cell).
    """
    if image.format not in ("JPEG", "MPO") or method != "average" or image.mode not in ("RGB", "L"):
        return 1
    if image.mode == "RGB":
        from PIL import JpegImagePlugin

        if JpegImagePlugin.get_sampling(image) not in (0, 2):  # 4:4:4 or 4:2:0 only
            return 1
    width, height = image.size
    for scale in (8, 4, 2):
        if size % scale == 0 and width % scale == 0 and height % scale == 0:
            return scale
    return 1


def orientation_of(image: Image.Image) -> int:
    """The EXIF orientation to apply to the opened image's frames (1 when none, or unreadable)."""
    getexif = None
    if image.format == "PNG" and image.tile:
        if png_fast.has_chunks_after_pixels(image):
            # EXIF (or a profile) after the image data is only read while decoding every pixel (what
            # PngImageFile.getexif does first); decode here, so that damage is reported, not swallowed,
            # and what those chunks say is in ``info`` before anyone reads it.
            decoding(image.load)
        else:
            # Everything the file says was read at open: skip PngImageFile.getexif's decode, so the pixels
            # can take the fast path.
            getexif = Image.Image.getexif
    return orient.read_orientation(image, getexif) or 1


def frame_duration(image: Image.Image) -> float:
    """The current frame's duration in ms (0 when it has none), read once the frame is decoded: Pillow's WebP
    reader sets it only when the frame loads, not when it seeks."""
    return float(image.info.get("duration") or 0)


def decode_frame(image: Image.Image, orientation: int, scale: int = 1, still: bool = False) -> Frame:
    """Decode the current frame of ``image`` at 1/``scale``, turned upright, CMYK converted to sRGB.

    ``still``: the file has this one frame (the PNG fast path applies only then).
    """
    full_size = image.size
    if scale > 1:
        # JPEG: let libjpeg decode at 1/scale in the DCT domain: each decoded pixel is already the mean of a
        # scale×scale cell, so the block means barely change (well under a level) and decoding is several
        # times faster. The grid stays aligned because scale divides the block and the sides.
        image.draft(image.mode, (full_size[0] // scale, full_size[1] // scale))
    # A still PNG decodes about twice as fast through png_fast (the same pixels); anything it declines,
    # damaged files included, is loaded by Pillow, which gives the classified error.
    loaded = png_fast.decode(image) if still and image.format == "PNG" else None
    if loaded is None:
        decoding(image.load)
    if image.format == "TIFF":
        # Pillow's TIFF loader turns each page upright itself and drops its Orientation tag (older Pillow
        # leaves both): what is left after loading is what still needs applying, page by page.
        orientation, full_size = orient.read_orientation(image) or 1, image.size
    # (No copy for a frame of an animation: its grid is made before the next seek replaces the pixels.)
    picture = orient.transpose(image if loaded is None else loaded, orientation)
    if picture.mode == "CMYK":
        picture = cmyk_to_rgb(picture, image.info.get("icc_profile"))
    return Frame(picture, scale, orient.upright_size(full_size, orientation))


def cmyk_to_rgb(frame: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Print colours to screen colours before averaging: through the file's ICC profile when it has one.

    Averaging in CMYK and converting afterwards gives darker blocks than the eye averages (the conversion
    is not linear), and browsers disagree on CMYK JPEGs: sRGB output looks the same everywhere.
    """
    if icc_profile:
        try:
            from PIL import ImageCms

            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            return ImageCms.profileToProfile(frame, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except Exception:  # a broken profile: fall back to the plain conversion below
            pass
    return frame.convert("RGB")
