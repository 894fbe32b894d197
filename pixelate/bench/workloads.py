"""The benchmark's inputs: photo-like images made deterministically from the sample photos.

A phone photo is large, smooth at the pixel level and a little noisy. Upscaling a real photo with bicubic
interpolation and adding mild Gaussian sensor noise gives files whose size and decode cost sit where
phone JPEGs do (quality 90), without shipping megabytes of test data. Files are generated once and cached
(``PIXELATE_BENCH_CACHE``, default a folder in the temp dir); the same seed always gives the same bytes.
"""
from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
#: bump when the recipe changes so stale cached files are not reused
RECIPE_VERSION = 1
NOISE_SIGMA = 2.5
JPEG_QUALITY = 90


@dataclass(frozen=True)
class Workload:
    """One input of the benchmark: a name, the encoded bytes and what they hold."""

    name: str
    kind: str  # "jpeg", "png", "gif"
    width: int
    height: int
    frames: int
    data: bytes

    @property
    def megapixels(self) -> float:
        return self.width * self.height * self.frames / 1e6


#: name -> (width, height, noise sigma): sizes of common cameras (4:3 phone sensors, 3:2 for 24 MP).
#: Mild noise gives ~1.5 MB at 12 MP; real 12 MP phone JPEGs are more often 2.5–5 MB, and decoding
#: time grows with the file, so "-detail" (stronger noise, ~2.7 MB) shows how the ratios move with it.
JPEG_SIZES = {
    "jpeg-2mp": (1632, 1224, NOISE_SIGMA),
    "jpeg-12mp": (4032, 3024, NOISE_SIGMA),
    "jpeg-12mp-detail": (4032, 3024, 6.0),
    "jpeg-24mp": (6000, 4000, NOISE_SIGMA),
}
#: name -> (width, height, sample): 12 MP photos of someone, for the privacy rows (``pixelate.bench.privacy``)
PORTRAIT_SIZES = {"jpeg-12mp-portrait": (4032, 3024, "astronaut.png"), "jpeg-500px-portrait": (500, 375, "astronaut.png"),
                  "jpeg-2mp-portrait": (1632, 1224, "astronaut.png")}
#: one photo JPEG per size (the detailed 12 MP twin left out: a second point at the same size)
JPEG_SERIES = ("jpeg-2mp", "jpeg-12mp", "jpeg-24mp")
PNG_SIZE = ("png-12mp-alpha", 4032, 3024)
GIF_SIZE = ("gif-anim", 480, 360, 24)
#: the quick run's animation: small, so the peers' GIF encoders (libvips' takes seconds) stay quick
QUICK_GIF_SIZE = ("gif-anim-small", 240, 180, 8)


def cache_dir() -> Path:
    path = Path(os.environ.get("PIXELATE_BENCH_CACHE") or Path(tempfile.gettempdir()) / "pixelate-bench")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _cached(name: str, suffix: str, make) -> bytes:
    path = cache_dir() / f"{name}-v{RECIPE_VERSION}.{suffix}"
    if path.exists():
        return path.read_bytes()
    data = make()
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # atomic: parallel runs never read half a file
    return data


def _crop_to_aspect(im, width: int, height: int):
    """Centre crop of ``im`` with the aspect ratio width:height."""
    w, h = im.size
    if w * height > h * width:  # too wide
        new_w = h * width // height
        left = (w - new_w) // 2
        return im.crop((left, 0, left + new_w, h))
    new_h = w * height // width
    top = (h - new_h) // 2
    return im.crop((0, top, w, top + new_h))


def photo_like(width: int, height: int, seed: int = 0, sample: str = "coffee.png", noise: float = NOISE_SIGMA):
    """An RGB Pillow image of a real photo upscaled (bicubic) to width×height with mild sensor noise."""
    import numpy as np
    from PIL import Image

    with Image.open(SAMPLES / sample) as src:
        base = _crop_to_aspect(src.convert("RGB"), width, height).resize((width, height), Image.Resampling.BICUBIC)
    rng = np.random.default_rng(seed)
    pixels = np.asarray(base, dtype=np.float32)
    pixels += rng.standard_normal(pixels.shape, dtype=np.float32) * noise
    return Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8), "RGB")


def photo_jpeg(
    width: int, height: int, seed: int = 0, quality: int = JPEG_QUALITY, sample: str = "coffee.png", noise: float = NOISE_SIGMA
) -> bytes:
    buf = io.BytesIO()
    photo_like(width, height, seed, sample, noise).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The same JPEG with an EXIF orientation tag put in front (the pixels are not re-encoded): what a
    phone writes for a photo taken upright, whose pixels it stores on their side."""
    from PIL import Image

    from pixelate.image.orient import ORIENTATION

    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    payload = exif.tobytes()
    return jpeg[:2] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


def alpha_png(width: int, height: int, seed: int = 1) -> bytes:
    """A photo with a soft radial alpha mask (transparent corners), saved as a PNG."""
    from PIL import Image, ImageDraw, ImageFilter

    im = photo_like(width, height, seed, sample="astronaut.png")
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).ellipse((width // 10, height // 10, width * 9 // 10, height * 9 // 10), fill=255)
    mask = mask.resize((width // 16, height // 16), Image.Resampling.BOX).filter(ImageFilter.GaussianBlur(4))
    im.putalpha(mask.resize((width, height), Image.Resampling.BILINEAR))
    buf = io.BytesIO()
    im.save(buf, "PNG")  # Pillow's defaults, as a phone or an editor would write it
    return buf.getvalue()


def animated_gif(width: int, height: int, frames: int, seed: int = 2) -> bytes:
    """A short pan across a photo: every frame different, adaptive palette per frame."""
    from PIL import Image

    big = photo_like(width * 2, height * 2, seed, sample="chelsea.png")
    shots = []
    for i in range(frames):
        left = (width * i) // frames
        top = (height * i) // (2 * frames)
        frame = big.crop((left, top, left + width, top + height))
        shots.append(frame.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
    buf = io.BytesIO()
    shots[0].save(buf, "GIF", save_all=True, append_images=shots[1:], duration=80, loop=0)
    return buf.getvalue()


def jpeg_workload(name: str) -> Workload:
    width, height, noise = JPEG_SIZES[name]
    data = _cached(name, "jpg", lambda: photo_jpeg(width, height, noise=noise))
    return Workload(name, "jpeg", width, height, 1, data)


def portrait_workload(name: str) -> Workload:
    """A sample photo of a person as a JPEG of the named size: a face to find and hide (not in the main table)."""
    width, height, sample = PORTRAIT_SIZES[name]
    data = _cached(name, "jpg", lambda: photo_jpeg(width, height, sample=sample))
    return Workload(name, "jpeg", width, height, 1, data)


def sized_jpeg_workload(width: int, height: int, grey: bool = False) -> Workload:
    """A photo JPEG of any size (``jpeg-WxH``, ``-grey`` in greyscale), made and cached like the others: the
    notebooks' quick run and the JPEG path sweep (``pixelate.bench.jpeg_paths``)."""
    name = f"jpeg-{width}x{height}" + ("-grey" if grey else "")

    def make() -> bytes:
        data = photo_jpeg(width, height)
        if not grey:
            return data
        from PIL import Image

        out = io.BytesIO()
        Image.open(io.BytesIO(data)).convert("L").save(out, "JPEG", quality=JPEG_QUALITY)
        return out.getvalue()

    return Workload(name, "jpeg", width, height, 1, _cached(name, "jpg", make))


def portrait_workloads(names) -> tuple[Workload, ...]:
    """The named photos of a person (``PORTRAIT_SIZES``), in the order given: the privacy rows' inputs."""
    return tuple(portrait_workload(name) for name in names)


def photo_series(works) -> list[Workload]:
    """The JPEG photos of ``works`` to draw against megapixels: one per size, smallest first. A second photo of
    the same size (the detailed 12 MP twin, not in ``JPEG_SERIES``) is left out: two points at one x make the
    curve zig-zag; it stays in the table."""
    series: dict[int, Workload] = {}
    for work in works:
        if work.kind != "jpeg" or (work.name in JPEG_SIZES and work.name not in JPEG_SERIES):
            continue
        series.setdefault(work.width * work.height, work)
    return [series[pixels] for pixels in sorted(series)]


def png_workload() -> Workload:
    name, width, height = PNG_SIZE
    return Workload(name, "png", width, height, 1, _cached(name, "png", lambda: alpha_png(width, height)))


def gif_workload(small: bool = False) -> Workload:
    name, width, height, frames = QUICK_GIF_SIZE if small else GIF_SIZE
    return Workload(name, "gif", width, height, frames, _cached(name, "gif", lambda: animated_gif(width, height, frames)))


def by_name(name: str) -> Workload:
    """One workload by its name (see ``names()``)."""
    if name in JPEG_SIZES:
        return jpeg_workload(name)
    if name in PORTRAIT_SIZES:
        return portrait_workload(name)
    if name == PNG_SIZE[0]:
        return png_workload()
    if name == GIF_SIZE[0]:
        return gif_workload()
    if name == QUICK_GIF_SIZE[0]:
        return gif_workload(small=True)
    raise KeyError(f"unknown workload {name!r}; known: {', '.join(names())}")


def names() -> list[str]:
    return [*JPEG_SIZES, *PORTRAIT_SIZES, PNG_SIZE[0], GIF_SIZE[0], QUICK_GIF_SIZE[0]]


def all_workloads(quick: bool = False) -> list[Workload]:
    """Every input of a full run; ``quick`` keeps the 2 MP JPEG and a small GIF (for CI and notebooks)."""
    if quick:
        return [jpeg_workload("jpeg-2mp"), gif_workload(small=True)]
    return [*(jpeg_workload(n) for n in JPEG_SIZES), png_workload(), gif_workload()]
