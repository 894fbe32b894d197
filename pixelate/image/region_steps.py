"""The pipeline's steps for privacy pixelation: only the regions asked for and the faces found are pixelated.

    locate → JPEG regions in the DCT domain → pixelate regions (every frame) → encode frames

Each step returns at once for a whole-image run (``Options.whole_image``). An upright JPEG is edited in the DCT
domain (``fast.jpeg_regions``: no decode and re-encode, no generation loss outside the regions); anything else
(other formats, oriented JPEGs, files the DCT path declines) is decoded, its regions pixelated in the pixel
domain (``ops.pixelate_boxes``: pixels outside the boxes keep their values) and encoded again (a JPEG
with its own quantisation tables and sampling).
"""
from __future__ import annotations

import io
import math
import warnings

from PIL import Image

from pixelate.image import encode, face_track, guard, ops, orient, regions
from pixelate.image.decode import decode_frame, frame_duration
from pixelate.image.errors import PixelateError
from pixelate.image.options import Box, Options
from pixelate.image.result import Result
from pixelate.image.work import Work


def locate(work: Work) -> None:
    """The boxes to pixelate in the upright image: the regions asked for (``invalid-option`` for one outside the
    image) and, for a still image, the faces found in it."""
    if work.options.whole_image:
        return
    image = work.image  # (its orientation and upright size: read with the container)
    work.targets = regions.manual_targets(work.options, *work.size)
    if image.format in ("JPEG", "MPO") and image.mode in ("RGB", "L", "CMYK"):
        work.input_settings = _jpeg_tables(image)
    elif image.format == "WEBP":
        work.input_settings = _webp_settings(work.data)
    if work.options.faces and guard.frame_count(image) == 1:
        work.targets += faces_of_first_frame(work)
        work.found_faces = True


def faces_of_first_frame(work: Work) -> list[regions.Target]:
    """The faces in the opened image's first frame (upright, full-size pixels), ``work.size`` set by ``locate``."""
    preview, scale = _still_preview(work)
    return _faces_of(preview, scale, work.size, work.options, work.stands_for)


def jpeg_regions_in_dct(work: Work) -> None:
    """An upright JPEG: its regions pixelated in the DCT domain, every other 8×8 block kept as it was."""
    if work.options.whole_image or not work.fast or work.image.format != "JPEG" or work.orientation != 1:
        return
    if work.options.method != "average":
        return  # the DCT domain has block means, not centre samples: the pixel path does "nearest"
    if not work.found_faces and not _decodes(work.data):
        return  # (Pillow decodes it at 1/8 first: libjpeg errors are refused there, classified by the general path)
    from pixelate.image.fast import jpeg_regions  # (ctypes and libjpeg: only when a JPEG has regions)

    width, height = work.size
    if not work.targets:  # faces asked and none found: the file as it was, without its metadata (no transcode)
        cleaned = jpeg_regions.without_metadata(work.data)
        if cleaned is not None:
            work.result = Result(cleaned, encode.CONTENT_TYPES["JPEG"], "JPEG", width, height, 1, ())
        return
    # A face grows only to whole luma blocks (the ×1.15 margin around it takes the colour band); a drawn region
    # to whole blocks of every component (fast.jpeg_regions says why). A block that is not a multiple of 8 is
    # drawn on the box itself, as the exact paths draw it: a found face then gets their margin of a few pixels.
    targets = [t if t.block % 8 == 0 else regions.with_exact_margin(t, work.options, width, height) for t in work.targets]
    order = regions.drawing_order(targets)
    ordered = [targets[i] for i in order]
    done = jpeg_regions.pixelate_jpeg_regions(
        work.data, [(t.box.corners, t.block, t.source == "face") for t in ordered])
    if done is None:
        return
    jpeg, drawn = done
    snapped = dict(zip(order, drawn))  # (reported in the order asked: the regions, then the faces)
    pixelated = [regions.Target(Box(*snapped[i]), t.block, t.source, t.score).describe() for i, t in enumerate(targets)]
    work.result = Result(jpeg, encode.CONTENT_TYPES["JPEG"], "JPEG", width, height, 1, tuple(pixelated))


def pixelate_region_frames(work: Work) -> None:
    """Every frame decoded upright, its boxes (the regions, and the faces found in it) pixelated in place."""
    if work.options.whole_image:
        return
    image, options = work.image, work.options
    count = guard.frame_count(image)
    # A TIFF's pages are pictures of their own, each of its own size: every page is looked at for faces, its regions
    # scaled to it. An animation's frames share the first frame's canvas, whose origin does not move: its regions
    # stay where they are on every frame, and the frames looked at stand for those between (``face_track``).
    pages = image.format == "TIFF"
    looking = options.faces and not work.found_faces
    most_pages = face_track.most_looks(work.limits.max_face_looks)
    if looking and pages and count > most_pages:
        # (every page is a picture of its own: none may go unlooked at, and each look costs a detection)
        raise PixelateError(
            "too-many-frames",
            f"Faces are looked for on every page of a TIFF, {most_pages} pages at most{work.limits.scope}; "
            f"this one has {count}. Choose regions instead, or split the file.",
        )
    faces_by_frame = _faces_of_frames(work, count) if looking and not pages else None
    drawn_faces: list[list[regions.Target]] = []  # an animation's faces, frame by frame, as drawn
    for index in guard.checked_frames(image, count, work.limits):
        frame = work.still if index == 0 and work.still is not None else decode_frame(image, work.orientation, 1, count == 1)
        work.durations.append(frame_duration(image))
        if not pages and frame.size != work.size:
            # Pillow grows a GIF's canvas for a frame that reaches past it, and keeps it grown once it has seeked
            # back: every frame then came out that size (and a face beyond the first canvas, clipped to it, was
            # left as it was). The output is the first frame's canvas, as the GIF's header gives it.
            frame.picture, frame.size = encode.on_canvas(frame.picture, work.size), work.size
        if looking and pages:
            found = _faces_of(_screen_rgb(frame.picture, image), 1.0, frame.size, options)
        else:
            found = faces_by_frame[index] if faces_by_frame else []
        if work.out_format == "GIF" and frame.picture.mode != "P":
            # a GIF frame Pillow composed in RGB: back to its own colours, so that its other pixels keep them
            frame.picture = encode.exact_palette(frame.picture) or frame.picture
        faces = [regions.with_exact_margin(face, options, *frame.size) for face in found]
        asked = work.targets if not pages or frame.size == work.size else regions.manual_targets(options, *frame.size, first=work.size)
        targets = [regions.with_exact_margin(target, options, *frame.size) for target in asked] + faces
        if count == 1:
            work.pixelated = [target.describe() for target in targets]  # (in the order asked: regions, then faces)
        else:
            drawn_faces.append(faces)
        drawn = [targets[i] for i in regions.drawing_order(targets)]
        picture = ops.pixelate_boxes(frame.picture, [(t.box.corners, t.block) for t in drawn], options.method)
        work.grids.append(encode.Grid(picture, frame.size))
    if count > 1:  # every frame's faces, with the frames each box was on
        work.pixelated = regions.describe_frames(work.targets, drawn_faces)  # (an animation's targets: the regions asked)


def encode_region_frames(work: Work) -> None:
    """The frames encoded in the output format (a JPEG with the input's own tables), only safe metadata kept."""
    if work.options.whole_image:
        return
    frames, durations = [grid.picture for grid in work.grids], work.durations
    if len(frames) > 1 and work.out_format in ("GIF", "PNG", "WEBP"):
        merged, durations = encode.merge_repeated_frames(work.grids, durations, work.default_image)
        frames = [grid.picture for grid in merged]
    animation = encode.Animation(durations=durations, loop=work.loop, default_image=work.default_image) if len(work.grids) > 1 else None
    # a JPEG keeps its own tables and sampling, a WebP its kind (lossy or lossless: _webp_settings)
    keep = work.input_settings if work.out_format in ("JPEG", "WEBP") else None
    data = encode.encode(frames, work.out_format, work.icc_profile, animation, work.options.pixel_size, keep=keep)
    width, height = frames[0].size
    work.result = Result(data, encode.CONTENT_TYPES[work.out_format], work.out_format, width, height, len(frames),
                         tuple(work.pixelated))


STEPS = (
    ("locate", locate),
    ("JPEG regions", jpeg_regions_in_dct),
    ("pixelate regions", pixelate_region_frames),
    ("encode frames", encode_region_frames),
)


# ------------------------------------------------------------------------------------------------------ helpers


def _jpeg_tables(image: Image.Image) -> dict | None:
    """The JPEG's quantisation tables and chroma sampling, so a re-encode keeps its quality (and size)."""
    from PIL import JpegImagePlugin

    try:
        sampling = JpegImagePlugin.get_sampling(image)
        tables = image.quantization
    except Exception:
        return None
    if not tables or sampling not in (0, 1, 2):
        return None
    return {"qtables": tables, "subsampling": sampling}


#: A lossy WebP's pixels outside the regions: encoded lossy again, at a quality that keeps them within a few
#: levels (generation loss, as for a turned JPEG). Encoded lossless, a photo came back 6-12 times its size (a
#: 6 MP photo past the synchronous API's 4 MiB) and a 49 MP one took 1.8 GB to encode.
_LOSSY_WEBP = {"lossless": False, "quality": 90, "method": 4}
#: A lossless WebP stays lossless, with the colour under transparent pixels kept as it was.
_LOSSLESS_WEBP = {"lossless": True, "exact": True}
#: most RIFF chunks looked at (frames are limited long before: PIXELATE_MAX_FRAMES)
_WEBP_CHUNKS = 100_000


def _webp_settings(data: bytes) -> dict:
    """How to encode a WebP's frames again so that the rest of it stays as it was: lossy when any of its frames
    is (a ``VP8 `` bitstream, at the top level or inside an animation frame), lossless otherwise."""
    position, end, seen = 12, min(len(data), 8 + int.from_bytes(data[4:8], "little")), 0
    while position + 8 <= end and seen < _WEBP_CHUNKS:
        kind, size = data[position:position + 4], int.from_bytes(data[position + 4:position + 8], "little")
        if kind == b"VP8 ":
            return _LOSSY_WEBP
        # an animation frame's own chunks follow its 16-byte header; every other chunk is skipped whole (padded)
        position += 8 + 16 if kind == b"ANMF" else 8 + size + (size & 1)
        seen += 1
    return _LOSSLESS_WEBP


def _decodes(data: bytes) -> bool:
    """Whether Pillow decodes the JPEG at 1/8 without an error (it catches libjpeg's fatal errors properly)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["JPEG"])
            image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
    except Exception:
        return False
    return True


def _still_preview(work: Work) -> tuple[Image.Image, float]:
    """The still image upright in RGB, at a scale the face detector needs, and that scale (preview / full).

    A JPEG is decoded in the DCT domain at the largest of 1/8, 1/4, 1/2 that keeps what the detector's finest
    pass needs (``faces.preview_side``); anything else is decoded once at full size, and that frame is kept for
    the pixelation step."""
    from pixelate.image import faces

    image, size = work.image, work.size
    if image.format in ("JPEG", "MPO"):
        needed = faces.preview_side(work.stands_for or size)  # (in pixels: a copy's own, at most)
        scale = next((s for s in (8, 4, 2) if max(image.size) // s >= needed), 1)
        if scale > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                preview = Image.open(io.BytesIO(work.data), formats=["JPEG", "MPO"])
            preview.draft("RGB", (max(1, image.width // scale), max(1, image.height // scale)))  # (a side of 1-7 px)
            picture = orient.transpose(guard.decoding(_loaded, preview), work.orientation)
            return _screen_rgb(picture, image), picture.width / size[0]
    work.still = decode_frame(image, work.orientation, 1, True)
    return _screen_rgb(work.still.picture, image), 1.0


def _loaded(image: Image.Image) -> Image.Image:
    image.load()
    return image


def _screen_rgb(picture: Image.Image, image: Image.Image) -> Image.Image:
    """The picture in RGB for the detector (transparent parts over mid grey, CMYK through the file's profile, grey
    of more than 8 bits stretched over 8: ``_eight_bit_grey``)."""
    if picture.mode == "CMYK":
        from pixelate.image.decode import cmyk_to_rgb

        picture = cmyk_to_rgb(picture, image.info.get("icc_profile"))
    if picture.mode == "RGB":
        return picture
    working = ops.working_mode(picture)
    rgba = (_eight_bit_grey(working) if working.mode in ("I", "F") else working).convert("RGBA")
    background = Image.new("RGBA", rgba.size, (128, 128, 128, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _eight_bit_grey(wide: Image.Image) -> Image.Image:
    """A grey picture of 16 or 32 bits (``I``, ``F``) in 8, its values' range stretched over 0-255 (``L``, or ``LA``
    with its transparent grey value as alpha). Converted as it is, Pillow clips every value over 255 to white and
    the detector saw a white picture. Stretched, a photo using the whole 16-bit range is what a viewer shows (its
    values >> 8); 12-bit data in a 16-bit file, or a 32-bit TIFF of any range, is what a viewer's auto-levels
    show: a face in the data is looked for however the file is displayed."""
    low, high = wide.getextrema()
    scale = 255 / (high - low) if high > low else 0.0
    grey = wide.point(lambda value: value * scale - low * scale).convert("L")  # (a linear map: Pillow's C path)
    if "transparency" not in wide.info:
        return grey
    grey.putalpha(wide.convert("RGBA").getchannel("A"))  # (Pillow takes the transparent value as alpha 0)
    return grey


def _faces_of(picture: Image.Image, scale: float, size: tuple[int, int], options: Options,
              stands_for: tuple[int, int] | None = None) -> list[regions.Target]:
    """The faces in ``picture`` (an upright ``size`` frame or page at ``scale``), as targets in its full-size pixels,
    clipped to ``size``; ``stands_for``: the size of the photo a reduced copy stands for (``find_faces``)."""
    from pixelate.image import faces

    width, height = size
    found = []
    for face in faces.detect_faces(picture, full_size=stands_for or size):
        # outward: a face found on the preview covers at least the same pixels at full size
        box = Box(max(0, math.floor(face.x / scale)), max(0, math.floor(face.y / scale)),
                  min(width, math.ceil((face.x + face.w) / scale)), min(height, math.ceil((face.y + face.h) / scale)))
        if box.width > 0 and box.height > 0:
            found.append((box, face.score))
    return regions.face_targets(found, options)


def _faces_of_frames(work: Work, count: int) -> list[list[regions.Target]]:
    """The faces of each frame of an animation: looked for on the frames ``face_track`` picks (every frame of a
    short one, the cadence, every frame unlike the looks around it, halfway where looks disagree), each frame
    between two looks taking the boxes ``face_track.between`` them. Boxes are of the first frame's canvas."""
    from pixelate.image.faces import detector

    image, options, looked = work.image, work.options, {}
    smallest_face = detector.min_face_size(work.size)
    cadence = set(face_track.first_looks(count, work.limits.max_face_looks))
    signatures = []
    for index in guard.checked_frames(image, count, work.limits):  # every frame once: its signature, the cadence's faces
        picture = _canvas_rgb(work)
        signatures.append(face_track.signature(picture, smallest_face))
        if index in cadence:
            looked[index] = _faces_of(picture, 1.0, work.size, options)
    changes_left = face_track.CHANGE_LOOKS * work.limits.max_face_looks
    halfway_left = work.limits.max_face_looks - len(looked)
    while True:  # until every frame is like a look around it and neighbouring looks agree, or the budgets are spent
        wanted = face_track.changed(signatures, looked, changes_left)
        changes_left -= len(wanted)
        if not wanted:
            wanted = face_track.halfway(looked, halfway_left)
            halfway_left -= len(wanted)
        if not wanted:
            break
        for index in wanted:  # in order, one sweep a round: seeking back decodes again from the first frame
            if index < image.tell():
                _rewind(image, count)
            guard.decoding(image.seek, index)
            looked[index] = _faces_of(_canvas_rgb(work), 1.0, work.size, options)
    _rewind(image, count)
    return face_track.per_frame(looked, count, options)


def _canvas_rgb(work: Work) -> Image.Image:
    """The current frame of an animation as the detector sees it (``_screen_rgb``), on the first frame's canvas."""
    return encode.on_canvas(_screen_rgb(decode_frame(work.image, work.orientation, 1, False).picture, work.image), work.size)


def _rewind(image: Image.Image, count: int) -> None:
    """Seek ``image`` back to its first frame. Pillow's APNG reader then reads the next frames wrongly
    ("truncated") unless it had reached the last frame before (Pillow 13): there it goes to the last one first."""
    if image.format == "PNG" and image.tell() != count - 1:
        guard.decoding(image.seek, count - 1)
    guard.decoding(image.seek, 0)
