"""The guard: what is refused before (and while) any pixel is decoded, and why.

Hostile input is cheap to store and ruinous to decode. The order matters: size in bytes first, then the
container structure (``structure``), then the header's dimensions and frame counts against ``Limits``, and
each later frame before it is decoded. Only the sniffed format's decoder may open the file (``sniff``).
Everything that goes wrong while decoding is the file's fault and gets a reason: ``corrupt`` or ``too-large``.
"""
from __future__ import annotations

import io
import re
import warnings
from typing import Callable, Iterator, TypeVar

from PIL import Image

from pixelate.image import structure
from pixelate.image.errors import PixelateError
from pixelate.image.limits import Limits
from pixelate.image.sniff import load_plugin

T = TypeVar("T")


def check_bytes(data: bytes, limits: Limits) -> None:
    """Refuse an empty file, or one larger than ``limits.max_bytes``."""
    if not data:
        raise PixelateError("empty", "The file is empty.")
    if len(data) > limits.max_bytes:
        raise PixelateError("too-large", f"The file is {len(data):,} bytes; the limit is {limits.max_bytes:,} bytes.")


def open_checked(data: bytes, fmt: str, limits: Limits) -> Image.Image:
    """Open ``data`` with only the decoder of its sniffed format, and check the header against ``limits``."""
    formats = load_plugin(fmt)
    # a GIF's blocks are walked before Pillow reads them (a flood of sub-blocks or stray bytes costs it seconds or
    # gigabytes: refused there), and the walk gives the canvas Pillow will grow it to, checked below
    canvas = structure.gif_canvas_size(data) if fmt == "GIF" and len(data) >= 13 else None
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
        raise PixelateError("corrupt", f"The {fmt} file is damaged and cannot be read ({brief(exc)}).") from None
    check_header(image, limits)
    if canvas is not None:
        check_frame_pixels(canvas, 0, limits)
    return image


def check_header(image: Image.Image, limits: Limits) -> None:
    """Reject an image whose header claims more pixels or frames than ``limits`` allow, before decoding."""
    width, height = image.size
    if width <= 0 or height <= 0:
        raise PixelateError("corrupt", "The image header gives no size.")
    if width * height > limits.max_pixels:
        raise PixelateError(
            "too-large",
            f"The image is {width}×{height} ({width * height / 1e6:.3g} megapixels); "
            f"the limit is {limits.max_pixels / 1e6:g} megapixels{limits.scope}.",
        )
    try:
        frames = frame_count(image, at_most=limits.max_frames)
    except Exception as exc:
        raise PixelateError("corrupt", f"The frames of the image cannot be read ({brief(exc)}).") from None
    if frames > limits.max_frames:
        counted = f"more than {limits.max_frames}" if image.format == "TIFF" else str(frames)  # TIFF: counted to the limit
        raise PixelateError("too-many-frames", f"The image has {counted} frames; the limit is {limits.max_frames}.")
    if frames * width * height > limits.max_total_pixels:
        raise PixelateError(
            "too-many-frames",
            f"The {frames} frames hold {frames * width * height / 1e6:.0f} megapixels in all; "
            f"the limit is {limits.max_total_pixels / 1e6:g}{limits.scope}.",
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
            f"A frame of the image is {width}×{height} ({width * height / 1e6:.3g} megapixels); "
            f"the limit is {limits.max_pixels / 1e6:g} megapixels{limits.scope}.",
        )
    total = pixels_before + width * height
    if total > limits.max_total_pixels:
        raise PixelateError(
            "too-many-frames",
            f"The frames hold over {total / 1e6:.0f} megapixels in all; the limit is {limits.max_total_pixels / 1e6:g}{limits.scope}.",
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
            f"The TIFF is stored in tiles of {width}×{height} pixels; the limit is {limits.max_pixels / 1e6:g} megapixels.",
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


def decoding(step: Callable[..., T], *args) -> T:
    """Run a decoding step; what goes wrong while decoding is the file's fault: ``corrupt`` or ``too-large``."""
    try:
        return step(*args)
    except (MemoryError, Image.DecompressionBombError):
        raise PixelateError("too-large", "The image is too large to decode.") from None
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, EOFError, struct.error ...
        raise PixelateError("corrupt", f"The image is damaged or truncated ({brief(exc)}).") from None


def brief(exc: Exception) -> str:
    """An exception's text, short enough for a message."""
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 160 else text[:157] + "..."


def _too_large_message(exc: Exception, limits: Limits) -> str:
    claimed = re.search(r"\((\d+) pixels\)", str(exc))
    what = f"{int(claimed.group(1)) / 1e6:,.0f} megapixels" if claimed else "enormous dimensions"
    return (
        f"The image claims {what}; the limit is {limits.max_pixels / 1e6:g} megapixels{limits.scope}. "
        "It was refused before decoding."
    )


def checked_frames(image: Image.Image, count: int, limits: Limits) -> Iterator[int]:
    """Each frame index of ``image`` in turn, the image sought to it and the frame checked against ``limits``
    (pixels over all frames so far, a TIFF's tile) before the caller decodes it."""
    total_pixels = 0
    for index in range(count):
        if index:
            decoding(image.seek, index)
        total_pixels = check_frame_pixels(image.size, total_pixels, limits)
        if image.format == "TIFF":
            check_tiff_tile(image, limits)
        yield index
