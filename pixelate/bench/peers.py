"""The contenders: each turns encoded bytes into pixelated encoded bytes of the same format.

- ``project``: :func:`pixelate.pixelate_bytes` (the JPEG fast path included).
- ``tutorial``: the classic tutorial code, the baseline: Pillow ``resize(w // k, h // k, NEAREST)`` down and
  ``NEAREST`` up, then ``save`` with Pillow's defaults. One sample per block, a stretched grid when the
  sides are not multiples of k, the first frame only, no EXIF orientation: it is timed as it is written.
- ``tutorial-frames``: the same code run on every frame of an animation and saved as one (Pillow's
  ``save_all``). The tutorial code's output of an animation is a still picture; this is the least the classic
  code needs to keep the animation, so animations' "× tutorial" is measured against it (still images do not
  run it: it would be ``tutorial`` again).
- ``libvips``: pyvips with shrink-on-load for JPEG (libjpeg's DCT-domain 1/2, 1/4, 1/8), ``shrink`` (the
  exact box mean) to one pixel per block, ``zoom`` (nearest) back up, save with libvips' defaults.
- ``opencv``: ``imdecode`` with ``IMREAD_REDUCED_COLOR_{2,4,8}`` for JPEG, ``INTER_AREA`` (box mean) down,
  ``INTER_NEAREST`` up, ``imencode`` with OpenCV's defaults. Animated GIF: ``imdecodeanimation`` /
  ``imencodeanimation`` where the OpenCV build has them.

Peers use their own default encoder settings (libvips Q75, OpenCV Q95, Pillow Q75 for the tutorial); the
project writes its own (see ``docs/benchmark.md``).
"""
from __future__ import annotations

import io
from typing import Callable

from pixelate.image.sniff import sniff_format

Contender = Callable[[bytes, int], bytes]

EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "gif": ".gif"}


def project(data: bytes, size: int) -> bytes:
    from pixelate.image.pipeline import pixelate_bytes

    return pixelate_bytes(data, size).data


def tutorial(data: bytes, size: int) -> bytes:
    from PIL import Image

    from pixelate.bench.baseline import tutorial_pixelate  # the notebooks' baseline too

    image = Image.open(io.BytesIO(data))
    result = tutorial_pixelate(image, size)
    out = io.BytesIO()
    result.save(out, image.format)
    return out.getvalue()


def tutorial_frames(data: bytes, size: int) -> bytes:
    from PIL import Image, ImageSequence

    from pixelate.bench.baseline import tutorial_pixelate

    image = Image.open(io.BytesIO(data))
    frames, durations = [], []
    for frame in ImageSequence.Iterator(image):
        frames.append(tutorial_pixelate(frame, size))
        durations.append(frame.info.get("duration", 100))
    out = io.BytesIO()
    frames[0].save(
        out, image.format, save_all=True, append_images=frames[1:], duration=durations, loop=image.info.get("loop", 0)
    )
    return out.getvalue()


def _load_shrink(size: int) -> int:
    """The largest DCT-domain scale that divides the block: what shrink-on-load can do exactly."""
    for scale in (8, 4, 2):
        if size % scale == 0:
            return scale
    return 1


def libvips(data: bytes, size: int) -> bytes:
    import pyvips

    kind = _kind(data)
    if kind == "gif":
        image = pyvips.Image.new_from_buffer(data, "", n=-1, access="sequential")
        page = image.get("page-height")
        pages = [_vips_pixelate(image.crop(0, i * page, image.width, page), size) for i in range(image.height // page)]
        strip = pyvips.Image.arrayjoin(pages, across=1).copy()
        strip.set_type(pyvips.GValue.gint_type, "page-height", page)
        return strip.gifsave_buffer()
    if kind == "jpeg":
        scale = _load_shrink(size)
        header = pyvips.Image.new_from_buffer(data, "")  # lazy: reads the header only
        if scale == 1:
            return _vips_pixelate(header, size).jpegsave_buffer()
        image = pyvips.Image.new_from_buffer(data, "", shrink=scale, access="sequential")
        small = image.shrink(size // scale, size // scale) if size > scale else image
        return _vips_fill(small.zoom(size, size), header.width, header.height).jpegsave_buffer()
    image = pyvips.Image.new_from_buffer(data, "", access="sequential")
    return _vips_pixelate(image, size).pngsave_buffer()


def _vips_pixelate(image, size: int):
    return _vips_fill(image.shrink(size, size).zoom(size, size), image.width, image.height)


def _vips_fill(big, width: int, height: int):
    """Cut to width×height; where shrink rounded a partial block away, repeat the last block's edge."""
    if big.width >= width and big.height >= height:
        return big.crop(0, 0, width, height)
    return big.embed(0, 0, width, height, extend="copy")


def opencv(data: bytes, size: int) -> bytes:
    import cv2
    import numpy as np

    kind = _kind(data)
    buffer = np.frombuffer(data, np.uint8)
    if kind == "gif":
        if not hasattr(cv2, "imdecodeanimation"):
            raise NotImplementedError("this OpenCV cannot read animations")
        ok, animation = cv2.imdecodeanimation(buffer)
        if not ok:
            raise ValueError("OpenCV could not decode the animation")
        animation.frames = [_cv_pixelate(cv2, frame, size, frame.shape[1], frame.shape[0]) for frame in animation.frames]
        ok, encoded = cv2.imencodeanimation(".gif", animation)
        if not ok:
            raise ValueError("OpenCV could not encode the animation")
        return bytes(encoded)
    if kind == "jpeg":
        scale = _load_shrink(size)
        flag = {8: cv2.IMREAD_REDUCED_COLOR_8, 4: cv2.IMREAD_REDUCED_COLOR_4, 2: cv2.IMREAD_REDUCED_COLOR_2, 1: cv2.IMREAD_COLOR}[scale]
        width, height = _jpeg_size(data)
        image = cv2.imdecode(buffer, flag)
        out = _cv_pixelate(cv2, image, size // scale, width, height, up=size)
        ok, encoded = cv2.imencode(".jpg", out)
    else:
        image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
        out = _cv_pixelate(cv2, image, size, image.shape[1], image.shape[0])
        ok, encoded = cv2.imencode(".png", out)
    if not ok:
        raise ValueError("OpenCV could not encode")
    return encoded.tobytes()


def _cv_pixelate(cv2, image, down: int, width: int, height: int, up: int | None = None):
    """Box mean to one pixel per block, nearest back up to whole blocks, cut to width×height."""
    up = up or down
    cols, rows = -(-width // up), -(-height // up)
    small = cv2.resize(image, (cols, rows), interpolation=cv2.INTER_AREA) if down > 1 else image
    big = cv2.resize(small, (cols * up, rows * up), interpolation=cv2.INTER_NEAREST)
    return big[:height, :width]


def _kind(data: bytes) -> str:
    """The format from the magic bytes, lower case ("jpeg", "png", "gif"…), as the core sniffs it."""
    return sniff_format(data).lower()


def _jpeg_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.size


CONTENDERS: dict[str, Contender] = {
    "project": project,
    "tutorial": tutorial,
    "tutorial-frames": tutorial_frames,
    "libvips": libvips,
    "opencv": opencv,
}
PEERS = ("libvips", "opencv")
#: contenders that only animations run
ANIMATION_ONLY = ("tutorial-frames",)


def available() -> dict[str, str | None]:
    """Each contender's library version, or None when it is not installed."""
    versions: dict[str, str | None] = dict.fromkeys(CONTENDERS)
    versions["project"] = "pixelate"
    try:
        from PIL import __version__

        versions["tutorial"] = versions["tutorial-frames"] = f"Pillow {__version__}"
    except ImportError:  # pragma: no cover
        pass
    try:
        import pyvips

        versions["libvips"] = f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"
    except Exception:
        pass
    try:
        import cv2

        versions["opencv"] = f"OpenCV {cv2.__version__}"
    except Exception:
        pass
    return versions


def warm_imports(name: str) -> None:
    """Import what a contender's first call would, so a memory probe measures the work alone."""
    import PIL.Image  # noqa: F401  every contender reads headers or decodes with it at some point

    PIL.Image.init()
    if name == "project":
        import pixelate.image.pipeline  # noqa: F401
        import pixelate.image.fast.jpeg_dc  # noqa: F401
    elif name in ("tutorial", "tutorial-frames"):
        import pixelate.bench.baseline  # noqa: F401
    elif name == "libvips":
        import pyvips  # noqa: F401
    elif name == "opencv":
        import cv2  # noqa: F401
        import numpy  # noqa: F401
