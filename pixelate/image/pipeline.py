"""``pixelate_bytes``: bytes in, pixelated bytes out, or a classified rejection, as a list of named steps.

    check bytes → sniff → format limits → check structure → fast JPEG → open → container
        → frames → encode                                                           (the whole image)
        → locate → JPEG regions → pixelate regions → encode frames                  (regions and faces)

Each step is a small function of the ``Work`` in hand with an early "nothing to do" return (imgproxy's
``processing`` is the model); the first step that sets ``work.result`` ends the run. The privacy steps live in
``region_steps``. Order matters for hostile input: options, size in bytes and format (from magic bytes) are
checked first, then the container structure, then the header's dimensions and frame counts; only then is any
pixel decoded.
"""
from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from pixelate.image import encode, guard, ops, region_steps, structure
from pixelate.image.decode import decode_frame, frame_duration, draft_scale, orientation_of
from pixelate.image.orient import upright_size
from pixelate.image.errors import PixelateError
from pixelate.image.fast import jpeg_dc
from pixelate.image.limits import DEFAULT_LIMITS, DEFAULT_METHOD, DEFAULT_PIXEL_SIZE, Limits
from pixelate.image.options import DEFAULT_FACE_BLOCKS, Options, parse_options
from pixelate.image.result import Result
from pixelate.image.sniff import sniff_format
from pixelate.image.work import Step, Work


def check_bytes(work: Work) -> None:
    guard.check_bytes(work.data, work.limits)


def sniff(work: Work) -> None:
    work.format = sniff_format(work.data)


def format_limits(work: Work) -> None:
    """The limits for the sniffed format: a WebP's are lower, since its encoder needs more memory (looking for
    faces alone, ``find_faces``, encodes nothing and keeps the others')."""
    work.limits = work.limits.for_format(work.format)


def check_structure(work: Work) -> None:
    structure.check_structure(work.data, work.format)


def fast_jpeg(work: Work) -> None:
    """A JPEG, block a multiple of 8, where it beats the general path: decoded at 1/8, written as flat blocks
    (``fast.jpeg_dc``; small photos and blocks of 8 below ~1.6 MP are faster on the general path)."""
    if not work.fast or work.format != "JPEG" or not work.options.whole_image:
        return
    work.result = jpeg_dc.pixelate_jpeg(work.data, work.options.pixel_size, work.options.method, work.limits,
                                        only_if_faster=True)


def open_image(work: Work) -> None:
    if work.image is None:
        work.image = guard.open_checked(work.data, work.format, work.limits)


def read_container(work: Work) -> None:
    """The input's orientation and upright size, and what the output keeps of its container, read before any
    frame is: its format's output format, its ICC profile (frames may carry their own once seeked to), an
    animation's loop count and an APNG's default image. Both pipelines need them."""
    if work.out_format is not None:
        return
    image = work.image
    work.orientation = orientation_of(image)  # (first: it may decode a PNG whose chunks after the pixels say more)
    work.size = upright_size(image.size, work.orientation)
    work.out_format = encode.output_format(image.format or "PNG")
    # CMYK frames become sRGB: a CMYK profile would no longer describe them
    work.icc_profile = None if image.mode == "CMYK" else image.info.get("icc_profile")
    work.loop = image.info.get("loop")
    work.default_image = bool(image.format == "PNG" and image.info.get("default_image"))


def reduce_frames(work: Work) -> None:
    """Every frame decoded, turned upright and reduced to its block grid (one pixel per block)."""
    if not work.options.whole_image:
        return
    image, size, method, out_format = work.image, work.options.pixel_size, work.options.method, work.out_format
    orientation = work.orientation
    count = guard.frame_count(image)
    for index in guard.checked_frames(image, count, work.limits):
        scale = draft_scale(image, size, method) if count == 1 else 1
        frame = decode_frame(image, orientation, scale, still=count == 1)
        work.durations.append(frame_duration(image))
        grid = ops.block_grid(frame.picture, size, method, frame.scale)
        if out_format == "GIF":
            # GIF frames need a palette: quantise one pixel per block, not every pixel of the enlarged frame
            # (about 3× faster per frame, the same colours).
            grid = encode.to_palette(grid)
        work.grids.append(encode.Grid(grid, frame.size))


def encode_frames(work: Work) -> None:
    """The grids enlarged to blocks and encoded in the output format, with only safe metadata."""
    if not work.options.whole_image:
        return
    work.result = encode.encode_grids(
        work.grids, work.durations, work.options.pixel_size, work.out_format, work.icc_profile, work.loop,
        work.default_image,
    )


#: The whole pipeline, in order.
STEPS: tuple[tuple[str, Step], ...] = (
    ("check bytes", check_bytes),
    ("sniff", sniff),
    ("format limits", format_limits),
    ("check structure", check_structure),
    ("fast JPEG", fast_jpeg),
    ("open", open_image),
    ("container", read_container),
    ("frames", reduce_frames),
    ("encode", encode_frames),
    *region_steps.STEPS,
)
#: What an image already opened goes through.
IMAGE_STEPS = STEPS[STEPS.index(("open", open_image)):]


def run(work: Work, steps: tuple[tuple[str, Step], ...] = STEPS) -> Result:
    """Run ``steps`` on ``work`` until one of them gives the result."""
    try:
        for _name, step in steps:
            step(work)
            if work.result is not None:
                return work.result
    except MemoryError:
        # Within the limits yet more than this process can hold (a small Lambda, a busy machine): the
        # file's size is the reason, as for anything over the limits, and retrying cannot help.
        raise PixelateError("too-large", "The image is too large to pixelate in the memory available.") from None
    raise AssertionError("the pipeline ended without a result")  # the encode step always sets one


def pixelate_bytes(
    data: bytes,
    size: int = DEFAULT_PIXEL_SIZE,
    method: str = DEFAULT_METHOD,
    limits: Limits | None = None,
    *,
    regions: object = None,
    faces: object = False,
    face_blocks: object = DEFAULT_FACE_BLOCKS,
    options: Options | None = None,
    fast: bool = True,
) -> Result:
    """Pixelate an encoded image with ``size``×``size`` blocks; raise :class:`PixelateError` on bad input.

    ``size`` is an integer from 2 to 512 (or its decimal digits); ``method`` is ``average`` (the block's mean
    colour, alpha-weighted) or ``nearest`` (the block's centre pixel). ``limits`` bound what is accepted
    (default: ``Limits()``).

    Without ``regions`` and ``faces`` the whole image is pixelated. ``regions``: rectangles ``(x, y, w, h)`` of
    the upright image, in pixels (ints) or as fractions of its width and height (floats from 0 to 1), or their
    text ``"x,y,w,h;x,y,w,h"``; ``faces=True`` adds the faces a detector finds; then only those boxes are
    pixelated (``Result.regions`` lists them) and the rest of the image is left as it was. ``face_blocks``: the
    most blocks a face may span across (default 8; 0 keeps ``size`` for faces too). ``options``: all of these
    already parsed (``pixelate.image.options``), instead of the separate arguments. ``fast=False`` skips the
    JPEG DCT-domain paths (tests compare them with the general path).
    """
    if options is None:
        options = parse_options(size, method, regions, faces, face_blocks)
    data = bytes(data) if not isinstance(data, bytes) else data
    return run(Work(data, options, limits or DEFAULT_LIMITS, fast))


def pixelate_image(
    image: Image.Image, size: int = DEFAULT_PIXEL_SIZE, method: str = DEFAULT_METHOD, limits: Limits | None = None,
    *, options: Options | None = None,
) -> Result:
    """Pixelate an opened (not yet decoded) image, every frame of it, and encode it in its output format
    (``options``, if given, instead of ``size`` and ``method``: regions and faces too)."""
    work = Work(b"", options or parse_options(size, method), limits or DEFAULT_LIMITS, image=image, fast=False)
    return run(work, IMAGE_STEPS)


@dataclass(frozen=True)
class FoundFaces:
    """The faces in an image's first frame: boxes of the upright image, ``{x, y, w, h, score}`` each."""

    width: int
    height: int
    faces: list[dict]


def find_faces(data: bytes, limits: Limits | None = None, stands_for: tuple[int, int] | None = None) -> FoundFaces:
    """The faces the detector finds in an encoded image's first frame, upright, with the same checks as
    ``pixelate_bytes`` before any pixel is decoded (``PixelateError`` for what it would refuse).

    ``stands_for``: when the image is a reduced copy of a photo (the page sends one), that photo's upright
    (width, height). The smallest face to look for is then the photo's (``faces.detector.min_face_size``): the page's 1344 px
    copy of a 12 MP photo is searched for faces of 20 px, as ``pixelate_bytes`` would search the photo, not 30.
    Ignored when it is not larger than the image."""
    work = Work(bytes(data), parse_options(faces=True), limits or DEFAULT_LIMITS)
    for step in (check_bytes, sniff, check_structure, open_image):
        step(work)
    try:
        read_container(work)  # (its orientation and upright size)
        if stands_for and max(stands_for) > max(work.size):
            work.stands_for = stands_for
        found = region_steps.faces_of_first_frame(work)
    except MemoryError:
        raise PixelateError("too-large", "The image is too large to look for faces in the memory available.") from None
    faces = [{"x": t.box.x0, "y": t.box.y0, "w": t.box.width, "h": t.box.height, "score": round(t.score or 0, 3)}
             for t in found]
    return FoundFaces(*work.size, faces)