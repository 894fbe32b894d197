"""The pixelation core: bytes in, pixelated bytes out, or a classified rejection.

Order matters for hostile input: options, size in bytes and format (from magic bytes) are checked first;
then the header is parsed and dimensions and frame counts checked; only then is any pixel decoded.
"""
from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image

from pixelate import encode, jpeg_dc, ops, png_fast, structure
from pixelate.errors import PixelateError
from pixelate.limits import DEFAULT_LIMITS, DEFAULT_METHOD, DEFAULT_PIXEL_SIZE, MAX_PIXEL_SIZE, METHODS, MIN_PIXEL_SIZE, Limits
from pixelate.sniff import load_plugin, sniff_format

ORIENTATION = 0x0112
# What EXIF orientations swap width and height.
_TRANSPOSING = {5, 6, 7, 8}


@dataclass(frozen=True)
class Result:
    """A pixelated image: encoded bytes and what a caller needs to store and serve them."""

    data: bytes
    content_type: str
    format: str
    width: int
    height: int
    frames: int


def validate_options(size: object, method: object) -> tuple[int, str]:
    """The pixel size as an int in range and the method as a known name, or ``invalid-option``."""
    if isinstance(size, bool) or not isinstance(size, (int, str)):
        raise PixelateError("invalid-option", f"The pixel size must be a whole number, not {size!r}.")
    try:
        value = int(str(size).strip())
    except ValueError:
        raise PixelateError("invalid-option", f"The pixel size must be a whole number, not {size!r}.") from None
    if not MIN_PIXEL_SIZE <= value <= MAX_PIXEL_SIZE:
        raise PixelateError(
            "invalid-option", f"The pixel size must be between {MIN_PIXEL_SIZE} and {MAX_PIXEL_SIZE}, not {value}."
        )
    name = str(method).strip().lower() if isinstance(method, str) else method
    if name not in METHODS:
        raise PixelateError("invalid-option", f"The method must be one of {', '.join(METHODS)}, not {method!r}.")
    return value, name


def pixelate_bytes(
    data: bytes,
    size: int = DEFAULT_PIXEL_SIZE,
    method: str = DEFAULT_METHOD,
    limits: Limits | None = None,
    *,
    fast: bool = True,
) -> Result:
    """Pixelate an encoded image with ``size``×``size`` blocks; raise :class:`PixelateError` on bad input.

    ``fast=False`` skips the JPEG DCT-domain fast path (tests compare the two paths).
    """
    limits = limits or DEFAULT_LIMITS
    size, method = validate_options(size, method)
    data = bytes(data) if not isinstance(data, bytes) else data
    if not data:
        raise PixelateError("empty", "The file is empty.")
    if len(data) > limits.max_bytes:
        raise PixelateError(
            "too-large", f"The file is {len(data):,} bytes; the limit is {limits.max_bytes:,} bytes."
        )
    fmt = sniff_format(data)
    structure.check_structure(data, fmt)
    if fast and fmt == "JPEG":
        result = jpeg_dc.pixelate_jpeg(data, size, method, limits)
        if result is not None:
            return result
    image = open_checked(data, fmt, limits)
    return pixelate_image(image, size, method, limits)


def open_checked(data: bytes, fmt: str, limits: Limits) -> Image.Image:
    """Open ``data`` with only the decoder of its sniffed format, and check the header against ``limits``."""
    formats = load_plugin(fmt)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its own limit and twice that; our limits are checked below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=formats)
    except Image.DecompressionBombError as exc:
        raise PixelateError("too-large", _too_large_message(exc, limits)) from None
    except Image.UnidentifiedImageError:
        raise PixelateError("corrupt", f"The file starts like a {fmt} image but its header is damaged.") from None
    except Exception as exc:  # Pillow raises many types for malformed headers
        raise PixelateError("corrupt", f"The {fmt} file is damaged and cannot be read ({_brief(exc)}).") from None
    check_header(image, limits)
    if fmt == "GIF":
        check_frame_pixels(structure.gif_canvas_size(data), 0, limits)
    return image


def check_header(image: Image.Image, limits: Limits) -> None:
    """Reject an image whose header claims more pixels or frames than ``limits`` allow, before decoding."""
    width, height = image.size
    if width <= 0 or height <= 0:
        raise PixelateError("corrupt", "The image header gives no size.")
    if width * height > limits.max_pixels:
        raise PixelateError(
            "too-large",
            f"The image is {width}×{height} ({width * height / 1e6:.1f} megapixels); "
            f"the limit is {limits.max_pixels / 1e6:.0f} megapixels.",
        )
    try:
        frames = frame_count(image, at_most=limits.max_frames)
    except Exception as exc:
        raise PixelateError("corrupt", f"The frames of the image cannot be read ({_brief(exc)}).") from None
    if frames > limits.max_frames:
        counted = f"more than {limits.max_frames}" if image.format == "TIFF" else str(frames)  # TIFF: counted to the limit
        raise PixelateError("too-many-frames", f"The image has {counted} frames; the limit is {limits.max_frames}.")
    if frames * width * height > limits.max_total_pixels:
        raise PixelateError(
            "too-many-frames",
            f"The {frames} frames hold {frames * width * height / 1e6:.0f} megapixels in all; "
            f"the limit is {limits.max_total_pixels / 1e6:.0f}.",
        )


def check_frame_pixels(size: tuple[int, int], pixels_before: int, limits: Limits) -> int:
    """Check the current frame before it is decoded; returns the pixels of the frames so far.

    The header check saw only the first frame: a TIFF page has its own size, and Pillow grows a GIF's
    canvas when a later frame reaches past the logical screen.
    """
    width, height = size
    if width * height > limits.max_pixels:
        raise PixelateError(
            "too-large",
            f"A frame of the image is {width}×{height} ({width * height / 1e6:.1f} megapixels); "
            f"the limit is {limits.max_pixels / 1e6:.0f} megapixels.",
        )
    total = pixels_before + width * height
    if total > limits.max_total_pixels:
        raise PixelateError(
            "too-many-frames",
            f"The frames hold over {total / 1e6:.0f} megapixels in all; the limit is {limits.max_total_pixels / 1e6:.0f}.",
        )
    return total


def check_tiff_tile(image: Image.Image, limits: Limits) -> None:
    """A TIFF page's tiles may be larger than the page, and the decoder allocates a whole tile."""
    try:
        width, height = int(image.tag_v2.get(322, 0)), int(image.tag_v2.get(323, 0))
    except (TypeError, ValueError):
        raise PixelateError("corrupt", "The TIFF's tile size cannot be read.") from None
    if width * height > limits.max_pixels:
        raise PixelateError(
            "too-large",
            f"The TIFF is stored in tiles of {width}×{height} pixels; the limit is {limits.max_pixels / 1e6:.0f} megapixels.",
        )


def frame_count(image: Image.Image, at_most: int | None = None) -> int:
    """How many frames the output keeps: MPO is one picture (the others are previews or the other eye),
    and so is a HEIC holding several images.

    With ``at_most``, TIFF pages are counted only up to one past it: Pillow counts them by walking every
    IFD in time quadratic in their number (100,000 tiny pages took 38 s), before any limit could apply.
    """
    if image.format in ("MPO", "HEIF"):
        return 1  # both become one JPEG: a HEIC's primary image is the one open() selects
    if at_most is not None and image.format == "TIFF":
        count = 1
        try:
            while count <= at_most:
                image.seek(count)  # one page at a time: Pillow's count is wrong after a longer jump
                count += 1
        except EOFError:
            pass
        image.seek(0)
        return count
    return getattr(image, "n_frames", 1)


def pixelate_image(
    image: Image.Image, size: int = DEFAULT_PIXEL_SIZE, method: str = DEFAULT_METHOD, limits: Limits | None = None
) -> Result:
    """Pixelate an opened (not yet decoded) image, every frame of it, and encode it in its output format."""
    size, method = validate_options(size, method)
    try:
        return _pixelate_opened(image, size, method, limits or DEFAULT_LIMITS)
    except MemoryError:
        # Within the limits yet more than this process can hold (a small Lambda, a busy machine): the
        # file's size is the reason, as for anything over the limits, and retrying cannot help.
        raise PixelateError("too-large", "The image is too large to pixelate in the memory available.") from None


def _pixelate_opened(image: Image.Image, size: int, method: str, limits: Limits) -> Result:
    in_format = image.format or "PNG"
    out_format = encode.output_format(in_format)
    orientation = _orientation(image)
    icc_profile = image.info.get("icc_profile")
    if image.mode == "CMYK":
        icc_profile = None  # frames are converted to sRGB below: a CMYK profile would no longer describe them
    count = frame_count(image)
    loop = image.info.get("loop")
    grids, durations = [], []
    total_pixels = 0
    for index in range(count):
        if index:
            _decoding(image.seek, index)
        total_pixels = check_frame_pixels(image.size, total_pixels, limits)
        if image.format == "TIFF":
            check_tiff_tile(image, limits)
        durations.append(float(image.info.get("duration") or 0))
        grids.append(_pixelate_frame(image, size, method, orientation, count == 1, out_format))
    if count == 1 and out_format == "PNG":
        # A still PNG is written straight from its grid, without making the enlarged image (png_fast.py).
        grid, output_size = grids[0]
        data = encode.png_from_grid(grid, size, output_size, icc_profile)
        if data is not None:
            return Result(data, encode.CONTENT_TYPES["PNG"], "PNG", *output_size, 1)
    if count > 1 and out_format in ("GIF", "PNG", "WEBP"):
        grids, durations = merge_repeated_frames(grids, durations)
    frames = [ops.enlarge_blocks(grid, size, output_size) for grid, output_size in grids]
    del grids
    animation = encode.Animation(durations=durations, loop=loop) if count > 1 else None
    data = encode.encode(frames, out_format, icc_profile, animation, block_size=size)
    width, height = frames[0].size
    return Result(data, encode.CONTENT_TYPES[out_format], out_format, width, height, len(frames))


Grid = tuple[Image.Image, tuple[int, int]]  # one pixel per block, and the size it is enlarged to


def merge_repeated_frames(grids: list[Grid], durations: list[float]) -> tuple[list[Grid], list[float]]:
    """Fold each frame identical to the one before into it, adding its duration.

    Coarse blocks often make consecutive frames identical; Pillow's GIF and APNG writers fold those anyway,
    so folding them here keeps the reported frame count true and the total duration unchanged. Frames are
    compared as grids: enlarging is nearest-neighbour, so equal grids of equal output size are equal frames.
    """
    kept, kept_durations = [grids[0]], [durations[0]]
    for frame, duration in zip(grids[1:], durations[1:]):
        if frame[1] == kept[-1][1] and _same_picture(frame[0], kept[-1][0]):
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


def _pixelate_frame(image: Image.Image, size: int, method: str, orientation: int, still: bool, out_format: str) -> Grid:
    """Decode the current frame, turn it upright, and reduce it to its grid (one pixel per block).

    Returns the grid and the size of the upright frame the grid's blocks are enlarged to.
    """
    scale = _draft_scale(image, size, method) if still else 1
    full_size = image.size
    if scale > 1:
        # JPEG: let libjpeg decode at 1/scale in the DCT domain: each decoded pixel is already the mean of a
        # scale×scale cell, so the block means barely change (well under a level) and decoding is several
        # times faster. The grid stays aligned because scale divides size and the sides.
        image.draft(image.mode, (full_size[0] // scale, full_size[1] // scale))
    # A still PNG decodes about twice as fast through png_fast (the same pixels); anything it declines,
    # damaged files included, is loaded by Pillow, which gives the classified error.
    loaded = png_fast.decode(image) if still and image.format == "PNG" else None
    if loaded is None:
        _decoding(image.load)
    if image.format == "TIFF":
        # Pillow's TIFF loader turns each page upright itself and drops its Orientation tag (older Pillow
        # leaves both): what is left after loading is what still needs applying, page by page.
        orientation, full_size = _orientation(image), image.size
    # (No copy for a frame of an animation: its grid is made before the next seek replaces the pixels.)
    frame = _transpose(image if loaded is None else loaded, orientation)
    if frame.mode == "CMYK":
        frame = cmyk_to_rgb(frame, image.info.get("icc_profile"))
    work = ops.working_mode(frame)
    if scale > 1:
        small = ops.block_means(work, size // scale)
    else:
        small = ops.block_means(work, size) if method == "average" else ops.block_samples(work, size)
    if out_format == "GIF":
        # GIF frames need a palette: quantise one pixel per block, not every pixel of the enlarged frame
        # (about 3× faster per frame, the same colours).
        small = encode.to_palette(small)
    return small, _upright_size(full_size, orientation)


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


def _decoding(step, *args):
    """Run a decoding step; what goes wrong while decoding is the file's fault: ``corrupt`` or ``too-large``."""
    try:
        return step(*args)
    except (MemoryError, Image.DecompressionBombError):
        raise PixelateError("too-large", "The image is too large to decode.") from None
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, EOFError, struct.error ...
        raise PixelateError("corrupt", f"The image is damaged or truncated ({_brief(exc)}).") from None


def _draft_scale(image: Image.Image, size: int, method: str) -> int:
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


def _orientation(image: Image.Image) -> int:
    getexif = type(image).getexif
    if image.format == "PNG" and image.tile:
        if png_fast.has_chunks_after_pixels(image):
            # EXIF (or a profile) after the image data is only read while decoding every pixel (what
            # PngImageFile.getexif does first); decode here, so that damage is reported, not swallowed,
            # and what those chunks say is in ``info`` before anyone reads it.
            _decoding(image.load)
        else:
            # Everything the file says was read at open: skip PngImageFile.getexif's decode, so the pixels
            # can take the fast path.
            getexif = Image.Image.getexif
    try:
        value = getexif(image).get(ORIENTATION, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


EXIF_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _transpose(frame: Image.Image, orientation: int) -> Image.Image:
    """The frame as displayed (what ``ImageOps.exif_transpose`` does, for every frame of a file)."""
    method = EXIF_TRANSPOSE.get(orientation)
    if method is None:
        return frame
    turned = frame.transpose(method)
    turned.info = dict(frame.info)  # keep palette transparency with the turned pixels
    return turned


def _upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation in _TRANSPOSING else size


def _too_large_message(exc: Exception, limits: Limits) -> str:
    claimed = re.search(r"\((\d+) pixels\)", str(exc))
    what = f"{int(claimed.group(1)) / 1e6:,.0f} megapixels" if claimed else "enormous dimensions"
    return (
        f"The image claims {what}; the limit is {limits.max_pixels / 1e6:.0f} megapixels. "
        "It was refused before decoding."
    )


def _brief(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 160 else text[:157] + "..."


__all__ = ["Result", "pixelate_bytes", "pixelate_image", "validate_options", "open_checked", "check_header"]
