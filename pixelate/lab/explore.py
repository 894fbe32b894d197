"""What the notebooks show, as plain functions: pixelated samples, colour error against the original, and
what happens to transparency, animation and orientation on the corpus images.

Pure computations on bytes and Pillow images: no plotting here (``pixelate.lab.plots`` draws), no I/O except
reading the sample and corpus folders that ship with the repository.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from PIL import Image, ImageChops, ImageOps, ImageSequence, ImageStat

from pixelate.bench.baseline import tutorial_pixelate
from pixelate.image import orient
from pixelate.image.pipeline import pixelate_bytes

ROOT = Path(__file__).resolve().parents[2]
SAMPLES_DIR = ROOT / "samples"
CORPUS_DIR = ROOT / "tests" / "corpus"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".tif", ".tiff", ".bmp", ".avif", ".heic")

#: The classic tutorial code (resize down with NEAREST, then up): the baseline the methods are compared with.
TUTORIAL = "tutorial"

#: Corpus files that show one behaviour each (tests/corpus/README.md says what each file is).
CORPUS_CASES = {
    "transparency": ("transparent.png", "p_trns_single.png", "uncompressed_la.png", "transparent.webp"),
    "animation": ("dispose_bgnd.gif", "apng_dispose_op_none.png", "iss634.gif"),
    "orientation": ("hopper_orientation_6.jpg", "hopper_orientation_3.webp", "exif_imagemagick_orientation.png"),
}


def sample_photos(folder: Path | str = SAMPLES_DIR, names: Iterable[str] | None = None) -> dict[str, bytes]:
    """The photos in ``folder`` (all images, or only ``names``), name → encoded bytes, sorted by name."""
    folder = Path(folder)
    wanted = set(names) if names is not None else None
    return {
        path.name: path.read_bytes()
        for path in sorted(folder.iterdir())
        if path.suffix.lower() in IMAGE_SUFFIXES and (wanted is None or path.name in wanted)
    }


def corpus_files(names: Iterable[str], folder: Path | str = CORPUS_DIR) -> dict[str, bytes]:
    return {name: (Path(folder) / name).read_bytes() for name in names}


# --- decoding for display and comparison ---------------------------------------------------------------


def decode(data: bytes, upright: bool = True) -> Image.Image:
    """The first frame of an encoded image, loaded; turned as displayed unless ``upright`` is False."""
    image = Image.open(io.BytesIO(data))
    image = ImageOps.exif_transpose(image) if upright else image
    image.load()
    return image


def frames(data: bytes, limit: int | None = None) -> list[Image.Image]:
    """Every frame of an encoded image (up to ``limit``) as RGBA images, composited as a viewer shows them."""
    image = Image.open(io.BytesIO(data))
    out = []
    for index, frame in enumerate(ImageSequence.Iterator(image)):
        if limit is not None and index >= limit:
            break
        out.append(frame.convert("RGBA"))
    return out


def pixelated(data: bytes, size: int, method: str = "average") -> Image.Image:
    """The pixelated image the service would store, decoded; ``method`` may also be :data:`TUTORIAL`."""
    if method == TUTORIAL:
        return tutorial_pixelate(decode(data), size)
    return decode(pixelate_bytes(data, size, method).data)


# --- colour error --------------------------------------------------------------------------------------


def mean_abs_error(original: Image.Image, result: Image.Image) -> float:
    """Mean absolute difference per channel, in 8-bit levels (0–255), of two images of the same size.

    Both are compared as RGB composited on white, so transparent pixels (whose colour nobody sees) do not
    count as error.
    """
    if original.size != result.size:
        raise ValueError(f"sizes differ: {original.size} and {result.size}")
    difference = ImageChops.difference(on_white(original), on_white(result))
    return sum(ImageStat.Stat(difference).mean) / 3


def on_white(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


@dataclass(frozen=True)
class ErrorPoint:
    sample: str
    method: str
    size: int
    error: float


def error_table(samples: dict[str, bytes], sizes: Iterable[int], methods: Iterable[str]) -> list[ErrorPoint]:
    """The colour error of every sample at every pixel size, for every method."""
    sizes, methods = list(sizes), list(methods)
    points = []
    for name, data in samples.items():
        original = decode(data)
        for method in methods:
            for size in sizes:
                points.append(ErrorPoint(name, method, size, mean_abs_error(original, pixelated(data, size, method))))
    return points


def error_curves(points: Iterable[ErrorPoint]) -> dict[str, list[tuple[int, float]]]:
    """Per method, (pixel size, error averaged over the samples), in increasing pixel size."""
    sums: dict[tuple[str, int], list[float]] = {}
    for point in points:
        sums.setdefault((point.method, point.size), []).append(point.error)
    curves: dict[str, list[tuple[int, float]]] = {}
    for (method, size), errors in sorted(sums.items(), key=lambda item: (item[0][0], item[0][1])):
        curves.setdefault(method, []).append((size, sum(errors) / len(errors)))
    return curves


def format_curves(curves: dict[str, list[tuple[int, float]]]) -> str:
    """The curves as a small fixed-width table (levels, one decimal): stable text for a checked cell."""
    sizes = sorted({size for points in curves.values() for size, _ in points})
    header = f"{'method':<10}" + "".join(f"{size:>8}" for size in sizes)
    lines = [header]
    for method, points in curves.items():
        by_size = dict(points)
        lines.append(f"{method:<10}" + "".join(f"{by_size[s]:>8.1f}" if s in by_size else f"{'':>8}" for s in sizes))
    return "\n".join(lines)


# --- transparency, animation, orientation -------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What a viewer needs to know about an encoded image."""

    format: str
    mode: str
    size: tuple[int, int]
    frames: int
    alpha: bool
    orientation: int

    def line(self) -> str:
        turn = f" orientation={self.orientation}" if self.orientation != 1 else ""
        alpha = " alpha" if self.alpha else ""
        return f"{self.format} {self.mode} {self.size[0]}x{self.size[1]} frames={self.frames}{alpha}{turn}"


def facts(data: bytes) -> Facts:
    image = Image.open(io.BytesIO(data))
    orientation = orient.read_orientation(image) or 1
    return Facts(
        format=image.format,
        mode=image.mode,
        size=image.size,
        frames=getattr(image, "n_frames", 1),
        alpha=image.has_transparency_data,
        orientation=orientation,
    )


@dataclass(frozen=True)
class Case:
    """One corpus file before and after: its facts, and the encoded output."""

    name: str
    before: Facts
    after: Facts
    original: bytes
    output: bytes


def corpus_case(name: str, data: bytes, size: int) -> Case:
    result = pixelate_bytes(data, size)
    return Case(name, facts(data), facts(result.data), data, result.data)


def corpus_cases(names: Iterable[str], size: int, folder: Path | str = CORPUS_DIR) -> list[Case]:
    return [corpus_case(name, data, size) for name, data in corpus_files(names, folder).items()]


def format_cases(cases: Iterable[Case]) -> str:
    """Before → after, one line per file: stable text for a checked cell."""
    return "\n".join(f"{case.name:<34} {case.before.line()}\n{'':<31} -> {case.after.line()}" for case in cases)


def transparent_share(data: bytes, below: int = 1) -> float:
    """The share of pixels of the first frame whose alpha is under ``below``: 1 counts the fully
    transparent ones, 255 every pixel that is at least partly see-through (0 for an image without alpha)."""
    histogram = decode(data).convert("RGBA").getchannel("A").histogram()
    return sum(histogram[:below]) / sum(histogram)


# --- the methods' cost in time --------------------------------------------------------------------------


def method_timings(workloads: Iterable, blocks: Iterable[int], methods: Iterable[str], rounds: int = 3) -> list[dict]:
    """Median ms of ``pixelate_bytes`` per method, on ``pixelate.bench`` workloads (interleaved rounds).

    The benchmark measures the default method against the peers; this puts the methods side by side.
    Rows carry the benchmark's keys (workload, kind, megapixels, block, ms) with ``method``.
    """
    from pixelate.bench.run import time_interleaved

    blocks, methods = list(blocks), list(methods)
    rows = []
    for work in workloads:
        for size in blocks:
            calls = {method: (lambda m=method, d=work.data, s=size: pixelate_bytes(d, s, m)) for method in methods}
            for method, seconds in time_interleaved(calls, rounds).items():
                rows.append({"workload": work.name, "kind": work.kind, "megapixels": round(work.megapixels, 2),
                             "block": size, "method": method, "ms": round(seconds * 1000, 1)})
    return rows
