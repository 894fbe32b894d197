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

from pixelate.bench.peers import tutorial
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
    "orientation": ("hopper_orientation_6.jpg", "hopper_orientation_3.webp"),
}
#: A sample photo stored as a phone stores a portrait (pixels on their side, EXIF orientation 6): beside the
#: corpus's square portraits, a subject whose way up nobody can miss.
PHONE_PHOTO = ("rocket.jpg", 6)


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
    """The pixelated image the service would store, decoded; ``method`` may also be :data:`TUTORIAL`: what the
    tutorial code would store (saved as it is written, in the input's format with Pillow's defaults: a JPEG at
    quality 75, where the service writes 90), decoded."""
    if method == TUTORIAL:
        return decode(tutorial(data, size))
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


def format_points(points: Iterable[ErrorPoint]) -> str:
    """Every photo's error per method and pixel size (levels, one decimal), a fixed-width table; a ``*`` marks
    where a method other than ``average`` is closer to the original than ``average``."""
    points = list(points)
    sizes = sorted({p.size for p in points})
    by = {(p.sample, p.method, p.size): p.error for p in points}
    rows = list(dict.fromkeys((p.sample, p.method) for p in points))
    width = max(len(sample) for sample, _ in rows) + 2
    lines = [f"{'photo':<{width}}{'method':<10}" + "".join(f"{size:>8}" for size in sizes)]
    for sample, method in rows:
        cells = []
        for size in sizes:
            error, best = by.get((sample, method, size)), by.get((sample, "average", size))
            mark = "*" if method != "average" and error is not None and best is not None and error < best else " "
            cells.append(f"{error:>7.1f}{mark}" if error is not None else f"{'':>8}")
        lines.append(f"{sample:<{width}}{method:<10}" + "".join(cells))
    return "\n".join(lines)


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


# --- the grid: where blocks fall ------------------------------------------------------------------------


def block_edges(length: int, size: int, method: str = "average") -> list[int]:
    """Where a new block starts along a side of ``length`` pixels (the grid lines, the first edge left out).

    The service's methods: every ``size`` pixels from the top-left corner, the last block cut by the edge. The
    tutorial code shrinks the side to ``length // size`` samples and stretches them back with ``NEAREST``: its
    edges are read from that very enlargement, so they are where Pillow puts them.
    """
    if method != TUTORIAL:
        return list(range(size, length, size))
    cells = max(1, length // size)
    index = Image.new("I", (cells, 1))
    index.putdata(list(range(cells)))
    stretched = index.resize((length, 1), Image.Resampling.NEAREST)
    cell = [stretched.getpixel((x, 0)) for x in range(length)]
    return [x for x in range(1, length) if cell[x] != cell[x - 1]]


def tutorial_block(image_size: tuple[int, int], size: int) -> tuple[float, float]:
    """The tutorial code's block (width, height) in pixels on an image of ``image_size``: ``size`` only when the
    side is a multiple of it, otherwise stretched to ``side / (side // size)``."""
    return tuple(side / max(1, side // size) for side in image_size)


# --- what a detail looks like ------------------------------------------------------------------------------


def detail_boxes(data: bytes, side: int | None = None) -> dict[str, tuple[int, int, int, int]]:
    """Square details of the upright image worth zooming into, ``name → (x, y, w, h)``: ``"face"``, the largest
    face the detector finds (if any), and ``"edge"``, the square of ``side`` pixels (default a quarter of the
    short side) with the most edges, away from the face."""
    from PIL import ImageFilter

    from pixelate.image.pipeline import find_faces

    grey = decode(data).convert("L")
    width, height = grey.size
    side = min(side or max(32, min(width, height) // 4), width, height)
    boxes: dict[str, tuple[int, int, int, int]] = {}
    faces = find_faces(data).faces
    if faces:
        face = max(faces, key=lambda f: f["w"] * f["h"])
        face_side = min(max(side, round(max(face["w"], face["h"]) * 1.3)), width, height)
        boxes["face"] = _square_around(face["x"] + face["w"] / 2, face["y"] + face["h"] / 2, face_side, (width, height))
    edges = grey.filter(ImageFilter.FIND_EDGES)
    step = max(1, side // 4)
    best, best_score = (0, 0, side, side), -1.0
    for top in range(0, height - side + 1, step):
        for left in range(0, width - side + 1, step):
            box = (left, top, side, side)
            if "face" in boxes and _overlap(box, boxes["face"]):
                continue
            score = ImageStat.Stat(edges.crop((left, top, left + side, top + side))).mean[0]
            if score > best_score:
                best, best_score = box, score
    boxes["edge"] = best
    return boxes


def _square_around(cx: float, cy: float, side: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
    left = min(max(0, round(cx - side / 2)), size[0] - side)
    top = min(max(0, round(cy - side / 2)), size[1] - side)
    return left, top, side, side


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def crop(image: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    x, y, w, h = box
    return image.crop((x, y, x + w, y + h))


# --- transparency: what the alpha weight changes -----------------------------------------------------------


def unweighted_average(image: Image.Image, size: int) -> Image.Image:
    """Block means of every channel taken as they are, the colour of transparent pixels included (what the
    service does *not* do): each band averaged on its own, so no alpha weighting, then enlarged to blocks."""
    rgba = image.convert("RGBA")
    small = Image.merge("RGBA", [band.reduce(size) for band in rgba.split()])  # "L" bands: no premultiplying
    big = small.resize((small.width * size, small.height * size), Image.Resampling.NEAREST)
    return big.crop((0, 0, *rgba.size))


def darkening(original: Image.Image, unweighted: Image.Image, weighted: Image.Image) -> float | None:
    """How much darker (levels of 255, mean of R, G, B) the unweighted average is than the alpha-weighted one in
    the blocks that are partly transparent (the edges of visible parts); ``None`` when no block is."""
    alpha = weighted.convert("RGBA").getchannel("A")
    partly = alpha.point(lambda a: 255 if 0 < a < 255 else 0)
    if not partly.getbbox():
        return None
    light = ImageStat.Stat(weighted.convert("RGB"), partly).mean
    dark = ImageStat.Stat(unweighted.convert("RGB"), partly).mean
    return sum(light) / 3 - sum(dark) / 3


# --- animation: frames across the whole of it --------------------------------------------------------------


@dataclass(frozen=True)
class FramePair:
    """An input frame (its number and start in ms) and the output frame shown at that moment."""

    index: int
    start_ms: int
    out_index: int
    before: Image.Image
    after: Image.Image


def _timeline(data: bytes) -> tuple[list[Image.Image], list[int]]:
    """Every frame (RGBA, as a viewer composites it) and its start in ms (frame numbers when no durations)."""
    image = Image.open(io.BytesIO(data))
    shown, starts, clock = [], [], 0
    for frame in ImageSequence.Iterator(image):
        shown.append(frame.convert("RGBA"))
        starts.append(clock)
        clock += int(frame.info.get("duration") or 0)
    return shown, (starts if clock else list(range(len(shown))))


def spread_frames(case: "Case", shown: int) -> list[FramePair]:
    """``shown`` input frames spread evenly from the first to the last, each with the output frame on screen at
    its start (the output may have fewer frames: identical neighbours are folded into one longer frame)."""
    before, starts = _timeline(case.original)
    after, out_starts = _timeline(case.output)
    count = len(before)
    picked = min(shown, count)
    picks = sorted({round(i * (count - 1) / max(1, picked - 1)) for i in range(picked)})
    pairs = []
    for index in picks:
        if len(after) == count:  # nothing folded: frame for frame
            out_index = index
        else:  # the output frame whose time on screen holds this frame's start
            out_index = max(i for i, start in enumerate(out_starts) if start <= starts[index])
        pairs.append(FramePair(index, starts[index], out_index, before[index], after[out_index]))
    return pairs


# --- orientation: a phone's portrait ----------------------------------------------------------------------


def stored_sideways(data: bytes, orientation: int) -> bytes:
    """The photo as a phone stores it: the pixels turned so that EXIF ``orientation`` turns them back, the tag
    set (PNG out for a lossless turn; JPEG re-encoded at quality 95)."""
    from pixelate.image.orient import EXIF_TRANSPOSE, ORIENTATION

    image = decode(data)
    undo = {Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270, Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90}
    turn = EXIF_TRANSPOSE[orientation]
    stored = image.transpose(undo.get(turn, turn))  # flips and the half turn undo themselves
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    out = io.BytesIO()
    if data[:2] == b"\xff\xd8":
        stored.convert("RGB").save(out, "JPEG", quality=95, exif=exif.tobytes())
    else:
        stored.save(out, "PNG", exif=exif.tobytes())
    return out.getvalue()


def orientation_cases(names: Iterable[str], size: int, phone_photo: tuple[str, int] | None = PHONE_PHOTO) -> list[Case]:
    """The corpus's orientation files and, if given, a sample photo stored as a phone stores a portrait."""
    cases = corpus_cases(names, size)
    if phone_photo:
        name, orientation = phone_photo
        stored = stored_sideways((SAMPLES_DIR / name).read_bytes(), orientation)
        cases.append(corpus_case(f"{name} (stored turned, orientation {orientation})", stored, size))
    return cases
