"""The pixelation core: bytes in, pixelated bytes out, or a classified rejection.

Order matters for hostile input: options, size in bytes and format (from magic bytes) are checked first;
then the header is parsed and dimensions and frame counts checked; only then is any pixel decoded.
"""
from __future__ import annotations

import io
import re
import struct
import warnings
from dataclasses import dataclass

from PIL import Image

from pixelate import encode, ops
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
    if fmt == "JPEG":
        check_jpeg_scans(data)
    if fmt == "PNG" and png_chunk_count(data, stop_after=MAX_PNG_CHUNKS) > MAX_PNG_CHUNKS:
        raise PixelateError("too-large", f"The PNG has more than {MAX_PNG_CHUNKS:,} chunks: too costly to read.")
    if fast and fmt == "JPEG":
        from pixelate import jpeg_dc

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
        check_frame_pixels(gif_canvas_size(data), 0, limits)
    return image


#: Most scans a JPEG may have. libjpeg's progressive scripts use 6 (grey) to 18 (CMYK); each scan costs a
#: pass over every block of the image, and libjpeg runs repeated scans with only a warning.
MAX_JPEG_SCANS = 100
#: Most marker segments before the first scan. Pillow parses each in Python and keeps every APPn and COM
#: (5 million empty ones took 4.7 s and 700 MB); a camera JPEG has a few dozen.
MAX_JPEG_HEADER_SEGMENTS = 1000
#: A marker inside entropy-coded data: 0xFF (after fill bytes) followed by neither a stuffed zero nor RSTn.
_MARKER_AFTER_SCAN = re.compile(rb"\xff+[^\x00\xd0-\xd7\xff]")


def check_jpeg_scans(data: bytes) -> None:
    """Refuse a JPEG whose structure alone costs seconds to read: a flood of header segments, or of scans."""
    if jpeg_header_segments(data, stop_after=MAX_JPEG_HEADER_SEGMENTS) > MAX_JPEG_HEADER_SEGMENTS:
        raise PixelateError(
            "too-large", f"The JPEG has more than {MAX_JPEG_HEADER_SEGMENTS} segments before its image data: too costly to read."
        )
    if data.count(b"\xff\xda") <= MAX_JPEG_SCANS:  # every scan starts so: a cheap upper bound
        return
    scans = jpeg_scan_count(data, stop_after=MAX_JPEG_SCANS)
    if scans > MAX_JPEG_SCANS:
        raise PixelateError(
            "too-large", f"The JPEG has more than {MAX_JPEG_SCANS} scans (a progressive JPEG has under 20): too costly to decode."
        )


def jpeg_header_segments(data: bytes, stop_after: int | None = None) -> int:
    """Marker segments between the start of image and the first scan (counting stops past ``stop_after``)."""
    pos, segments = 2, 0
    while pos + 4 <= len(data) and (stop_after is None or segments <= stop_after):
        if data[pos] != 0xFF:
            pos = data.find(b"\xff", pos)  # stray bytes: Pillow skips them to the next 0xFF
            if pos < 0:
                break
            continue
        marker = data[pos + 1]
        if marker in (0x00, 0xFF):
            pos += 1
            continue
        if marker == 0xDA:
            break
        segments += 1
        pos += 2 if 0xD0 <= marker <= 0xD9 or marker == 0x01 else 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return segments


def jpeg_scan_count(data: bytes, stop_after: int | None = None) -> int:
    """Start-of-scan segments of the first picture in ``data``, walking its segments as libjpeg does.

    Counting stops at its end-of-image (an MPO's other pictures are not decoded) or past ``stop_after``.
    """
    pos, scans = 2, 0
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            pos = data.find(b"\xff", pos)  # libjpeg skips stray bytes to the next marker
            if pos < 0:
                break
            continue
        marker = data[pos + 1]
        if marker == 0xFF or 0xD0 <= marker <= 0xD8 or marker == 0x01:
            pos += 1 if marker == 0xFF else 2  # fill byte, or a marker without a length
            continue
        if marker == 0xD9:
            break
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:
            scans += 1
            if stop_after is not None and scans > stop_after:
                break
            after = _MARKER_AFTER_SCAN.search(data, pos)
            if after is None:
                break
            pos = after.end() - 2
    return scans


#: Most chunks a PNG may have. Pillow parses each in Python (4 million empty ones took 7.9 s and 520 MB);
#: even 50 MB of image data in 1 KB IDAT chunks is 50,000.
MAX_PNG_CHUNKS = 100_000


def png_chunk_count(data: bytes, stop_after: int | None = None) -> int:
    """Chunks of a PNG up to its IEND (counting stops past ``stop_after``)."""
    pos, chunks = 8, 0
    while pos + 8 <= len(data) and (stop_after is None or chunks <= stop_after):
        chunks += 1
        if data[pos + 4 : pos + 8] == b"IEND":
            break
        pos += 12 + int.from_bytes(data[pos : pos + 4], "big")
    return chunks


def gif_canvas_size(data: bytes) -> tuple[int, int]:
    """The canvas Pillow grows a GIF to: its logical screen, widened by every frame that reaches past it.

    Pillow grows the canvas, and fills the frame's disposal area, while *seeking* to a frame, before the
    core sees its size: the frame descriptors are read here first, walking the blocks as Pillow does.
    """
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    while pos < len(data) and data[pos] != 0x3B:  # up to the trailer
        if data[pos] == 0x21:  # extension: introducer, label, sub-blocks
            pos = _after_sub_blocks(data, pos + 2)
        elif data[pos] == 0x2C and pos + 10 <= len(data):  # image descriptor
            x, y, w, h, flags = struct.unpack_from("<HHHHB", data, pos + 1)
            width, height = max(width, x + w), max(height, y + h)
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            pos = _after_sub_blocks(data, pos + 1)  # LZW minimum code size, then the data
        else:
            pos += 1  # Pillow skips stray bytes too
    return width, height


def _after_sub_blocks(data: bytes, pos: int) -> int:
    while pos < len(data) and data[pos]:
        pos += data[pos] + 1
    return pos + 1


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
    limits = limits or DEFAULT_LIMITS
    in_format = image.format or "PNG"
    out_format = encode.output_format(in_format)
    orientation = _orientation(image)
    icc_profile = image.info.get("icc_profile")
    if image.mode == "CMYK":
        icc_profile = None  # frames are converted to sRGB below: a CMYK profile would no longer describe them
    count = frame_count(image)
    loop = image.info.get("loop")
    frames, durations = [], []
    total_pixels = 0
    for index in range(count):
        if index:
            _decoding(image.seek, index)
        total_pixels = check_frame_pixels(image.size, total_pixels, limits)
        if image.format == "TIFF":
            check_tiff_tile(image, limits)
        durations.append(float(image.info.get("duration") or 0))
        frames.append(_pixelate_frame(image, size, method, orientation, count == 1, out_format))
    if count > 1 and out_format in ("GIF", "PNG", "WEBP"):
        frames, durations = merge_repeated_frames(frames, durations)
    animation = encode.Animation(durations=durations, loop=loop) if count > 1 else None
    data = encode.encode(frames, out_format, icc_profile, animation, block_size=size)
    width, height = frames[0].size
    return Result(data, encode.CONTENT_TYPES[out_format], out_format, width, height, len(frames))


def merge_repeated_frames(frames: list[Image.Image], durations: list[float]) -> tuple[list[Image.Image], list[float]]:
    """Fold each frame identical to the one before into it, adding its duration.

    Coarse blocks often make consecutive frames identical; Pillow's GIF and APNG writers fold those anyway,
    so folding them here keeps the reported frame count true and the total duration unchanged.
    """
    kept, kept_durations = [frames[0]], [durations[0]]
    for frame, duration in zip(frames[1:], durations[1:]):
        if _same_picture(frame, kept[-1]):
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


def _pixelate_frame(image: Image.Image, size: int, method: str, orientation: int, use_draft: bool, out_format: str) -> Image.Image:
    """Decode the current frame, turn it upright, and pixelate it."""
    scale = _draft_scale(image, size, method) if use_draft else 1
    full_size = image.size
    if scale > 1:
        # JPEG: let libjpeg decode at 1/scale in the DCT domain: each decoded pixel is already the mean of a
        # scale×scale cell, so the block means barely change (well under a level) and decoding is several
        # times faster. The grid stays aligned because scale divides size and the sides.
        image.draft(image.mode, (full_size[0] // scale, full_size[1] // scale))
    _decoding(image.load)
    if image.format == "TIFF":
        # Pillow's TIFF loader turns each page upright itself and drops its Orientation tag (older Pillow
        # leaves both): what is left after loading is what still needs applying, page by page.
        orientation, full_size = _orientation(image), image.size
    frame = _transpose(image if use_draft else image.copy(), orientation)
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
    return ops.enlarge_blocks(small, size, _upright_size(full_size, orientation))


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
    try:
        value = image.getexif().get(ORIENTATION, 1)
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
