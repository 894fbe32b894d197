"""How well faces are hidden, measured through the whole pipeline on the scenes of ``face_scenes``.

    python -m pixelate.lab.face_eval            # the report (a few minutes); --quick: a few scenes (seconds)
    python -m pixelate.lab.face_eval --sweep    # + thresholds × enlargements through the pipeline
    python -m pixelate.lab.face_eval --snapping # + what snapping the face boxes otherwise would change
    python -m pixelate.lab.face_eval --lossless # the same scenes as PNG: the path that pixelates boxes exactly

With the real photos fetched (``python -m pixelate.lab.real_photos``), two more groups: "real", group photos
with faces drawn by hand, and "animals", photos of animals and no people.

Each scene's encoded bytes go through ``pixelate_bytes(data, 16, faces=True, face_blocks=8)``, the service's
defaults, and the output is compared with the input:

- **hidden**: a face is hidden when at least 95 % of its box lies inside the boxes actually pixelated
  (``Result.regions``, snapped to the block grid). For a partly hidden face, the part its occluder covers is left
  out (the detector boxes what it can see, and the covered part shows nothing); **box 95 %** counts the whole
  box, occluded part included; **whole box** asks for every pixel of the box;
- **outside**: the share of the area outside every ground-truth face whose pixels changed (the input and the
  output decoded and compared exactly: any channel differs), per image; **extra** is those pixels per pixel of
  face, which does not depend on how crowded a scene is (outside ≈ extra · f / (1 - f) when faces cover a share
  f of the photo). Two more columns say where it comes from: **boxes**, the share the detector's boxes cover
  before they are snapped to the block grid, and **snapped**, the share the pixelated boxes cover;
- **faces**: the share of the image the ground-truth faces cover (mean per image), which "outside" grows with;
- **FP**: pixelated face boxes that cover less than half of every ground-truth face (on the negatives: every
  face box; their count in brackets);
- **ms**: the median time of ``pixelate_bytes`` with faces per image (median over the group's images of each
  image's median over ``--runs``), and **whole ms** the same image pixelated whole, for comparison. The
  detector's session is loaded before (its load time is printed once).
"""
from __future__ import annotations

import argparse
import io
import math
import statistics
import time
from contextlib import contextmanager
from typing import Callable, Iterable

from pixelate.image.limits import DEFAULT_PIXEL_SIZE
from pixelate.image.options import DEFAULT_FACE_BLOCKS
from pixelate.image.pipeline import find_faces, pixelate_bytes
from pixelate.image.regions import EXACT_FACE_MARGIN
from pixelate.lab import face_scenes, real_photos
from pixelate.lab.face_scenes import Scene

COVER_NEEDED = 0.95
#: a face box that covers less than this share of every ground-truth face is a false positive (a share of the
#: face, not of the box: a box snapped to 16-pixel blocks around a 25-pixel face is mostly not face)
TRUE_BOX_COVERS = 0.5
#: size bins (ground-truth box width, px) of the recall breakdown, per group
SIZE_BINS = {"small": (30, 40, 60, 90, 121), "large": (60, 80, 120, 200, 1000), "lfw": (21, 28, 35, 46),
             "real": (37, 45, 61, 111)}


# ------------------------------------------------------------------------------------------------ measuring


def box_mask(size: tuple[int, int], boxes: Iterable[tuple[int, int, int, int]]):
    """Height × width boolean mask of the union of (x0, y0, x1, y1) boxes."""
    import numpy as np

    width, height = size
    mask = np.zeros((height, width), dtype=bool)
    for x0, y0, x1, y1 in boxes:
        mask[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = True
    return mask


def _pixels(data: bytes):
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def _corners(box: dict) -> tuple[int, int, int, int]:
    return box["x"], box["y"], box["x"] + box["w"], box["y"] + box["h"]


def measure(scene: Scene, pixel_size: int = DEFAULT_PIXEL_SIZE, face_blocks: int = DEFAULT_FACE_BLOCKS,
            runs: int = 1, explain: bool = True) -> dict:
    """One scene through the pipeline: which faces are hidden, what changed outside them, false boxes, times.

    ``explain`` also asks the detector's boxes before snapping (``find_faces``), for the "boxes" column.
    """
    times, whole = [], []
    for _ in range(max(1, runs)):
        start = time.perf_counter()
        result = pixelate_bytes(scene.data, pixel_size, faces=True, face_blocks=face_blocks)
        times.append(time.perf_counter() - start)
        start = time.perf_counter()
        pixelate_bytes(scene.data, pixel_size)
        whole.append(time.perf_counter() - start)
    before, after = _pixels(scene.data), _pixels(result.data)
    size = (before.shape[1], before.shape[0])
    truth = box_mask(size, (face.box for face in scene.faces))
    regions = [_corners(box) for box in result.regions if box["source"] == "face"]
    covered = box_mask(size, regions)
    outside = ~truth
    hidden, box95, whole_box, cover = [], [], [], []
    for face in scene.faces:
        x0, y0, x1, y1 = face.box
        inside = covered[y0:y1, x0:x1]
        visible = ~box_mask(size, [face.occluder] if face.occluder else [])[y0:y1, x0:x1]
        cover.append(float(inside[visible].mean()))
        hidden.append(cover[-1] >= COVER_NEEDED)
        box95.append(bool(inside.mean() >= COVER_NEEDED))
        whole_box.append(bool(inside.all()))
    changed = (before != after).any(axis=2) & outside
    false = sum(1 for region in regions if not any(_share_inside(face.box, region) >= TRUE_BOX_COVERS for face in scene.faces))
    row = {
        "name": scene.name, "group": scene.group, "width": size[0], "height": size[1],
        "faces": [(face.kind, face.w, face.box) for face in scene.faces],
        "hidden": hidden, "box95": box95, "whole_box": whole_box, "cover": cover,
        "outside": float(changed.sum() / max(1, outside.sum())),
        "snapped": float((covered & outside).sum() / max(1, outside.sum())),
        "outside_px": int(changed.sum()), "face_px": int(truth.sum()), "face_share": float(truth.mean()),
        "regions": len(regions), "fp": false, "blocks": sorted({box["block"] for box in result.regions}),
        "ms": 1000 * statistics.median(times), "whole_ms": 1000 * statistics.median(whole),
    }
    if explain:
        found = find_faces(scene.data).faces
        row["boxes"] = float((box_mask(size, (_corners(f) for f in found)) & outside).sum() / max(1, outside.sum()))
    return row


def _share_inside(box: tuple[int, int, int, int], region: tuple[int, int, int, int]) -> float:
    """The share of ``box`` that lies inside ``region`` (both x0, y0, x1, y1)."""
    width = min(box[2], region[2]) - max(box[0], region[0])
    height = min(box[3], region[3]) - max(box[1], region[1])
    area = (box[2] - box[0]) * (box[3] - box[1])
    return max(0, width) * max(0, height) / area if area else 0.0


def session_load_ms() -> float:
    """Load the detector's model (once per process): what the first request with faces pays on top."""
    from pixelate.image.faces import detector

    start = time.perf_counter()
    detector.get_session()
    return 1000 * (time.perf_counter() - start)


def evaluate(scenes: Iterable[Scene], progress: Callable[[str], None] | None = None, **options) -> dict[str, list[dict]]:
    """``measure`` every scene; rows by group, in the order met."""
    results: dict[str, list[dict]] = {}
    for scene in scenes:
        if progress:
            progress(scene.name)
        results.setdefault(scene.group, []).append(measure(scene, **options))
    return results


# ------------------------------------------------------------------------------------------------ summaries


def summary(rows: list[dict]) -> dict:
    """A group's figures: counts of faces hidden (three ways), outside shares (mean, max), extra, FP, times."""
    hidden = [h for row in rows for h in row["hidden"]]
    face_px = sum(row["face_px"] for row in rows)
    mean = lambda key: statistics.mean(row[key] for row in rows) if all(key in row for row in rows) else None  # noqa: E731
    return {
        "images": len(rows), "faces": len(hidden), "hidden": sum(hidden),
        "box95": sum(h for row in rows for h in row["box95"]),
        "whole_box": sum(h for row in rows for h in row["whole_box"]),
        "cover_min": min((c for row in rows for c in row["cover"]), default=None),
        "outside_mean": mean("outside"), "outside_max": max(row["outside"] for row in rows),
        "snapped_mean": mean("snapped"), "boxes_mean": mean("boxes"), "face_share": mean("face_share"),
        "extra": sum(row["outside_px"] for row in rows) / face_px if face_px else None,
        "fp": sum(row["fp"] for row in rows), "regions": sum(row["regions"] for row in rows),
        "ms": statistics.median(row["ms"] for row in rows), "whole_ms": statistics.median(row["whole_ms"] for row in rows),
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def table(results: dict[str, list[dict]]) -> str:
    """The report's table: one line per group."""
    header = ("group", "imgs", "faces", "hidden", "box 95%", "whole box", "min cover", "faces %", "outside", "out.max", "snapped",
              "boxes", "extra", "FP", "ms", "whole ms")
    lines = [header]
    for group, rows in results.items():
        s = summary(rows)
        faces = s["faces"]
        count = (lambda n: f"{n}/{faces}") if faces else (lambda n: "-")
        lines.append((group, str(s["images"]), str(faces), count(s["hidden"]), count(s["box95"]), count(s["whole_box"]),
                      "-" if s["cover_min"] is None else f"{100 * s['cover_min']:.0f}%",
                      _pct(s["face_share"]), _pct(s["outside_mean"]), _pct(s["outside_max"]), _pct(s["snapped_mean"]), _pct(s["boxes_mean"]),
                      "-" if s["extra"] is None else f"{s['extra']:.2f}", f"{s['fp']}" + ("" if faces else f" ({s['regions']})"),
                      f"{s['ms']:.0f}", f"{s['whole_ms']:.0f}"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths)))
                     for line in lines)


def breakdown(results: dict[str, list[dict]]) -> list[str]:
    """Faces hidden by kind (plain, rotated, occluded) and by size, for the synthetic and LFW groups."""
    lines = []
    for group, edges in SIZE_BINS.items():
        faces = [(kind, width, h, b) for row in results.get(group, [])
                 for (kind, width, _), h, b in zip(row["faces"], row["hidden"], row["box95"])]
        if not faces:
            continue
        parts = []
        for kind in ("plain", "rotated", "occluded"):
            kind_faces = [f for f in faces if f[0] == kind]
            if kind_faces:
                parts.append(f"{kind} {sum(f[2] for f in kind_faces)}/{len(kind_faces)}"
                             + (f" (box 95 % {sum(f[3] for f in kind_faces)})" if kind == "occluded" else ""))
        for low, high in zip(edges, edges[1:]):
            sized = [f[2] for f in faces if low <= f[1] < high]
            parts.append(f"{low}-{high - 1} px {sum(sized)}/{len(sized)}")
        lines.append(f"{group}: " + ", ".join(parts))
    return lines


def misses(results: dict[str, list[dict]]) -> list[str]:
    """Every face not hidden, and every negative with a face box."""
    lines = []
    for rows in results.values():
        for row in rows:
            lines += [f"missed: {row['name']} {kind} face {width} px at {box}, {cover:.0%} of it pixelated"
                      for (kind, width, box), hidden, cover in zip(row["faces"], row["hidden"], row["cover"])
                      if not hidden]
            if not row["faces"] and row["regions"]:
                lines.append(f"negative {row['name']}: {row['regions']} face boxes, {_pct(row['outside'])} changed")
    return lines


def report(results: dict[str, list[dict]]) -> str:
    return "\n".join([table(results), "", *breakdown(results), *misses(results)])


# ------------------------------------------------------------------------------------------------ the sweep


@contextmanager
def detector_settings(threshold: float, enlarge: float | tuple[float, float], cache: dict):
    """The pipeline's detector with another threshold and enlargement, the network's output cached in ``cache``
    (run once per picture and threshold: the landmarks are averaged over the detections above the threshold run
    at, so filtering a lower one's output is not quite running at a higher one)."""
    import hashlib

    from pixelate.image import faces
    from pixelate.image.faces import detector

    def detect(picture, full_size=None, **_):
        key = (picture.size, full_size, threshold, hashlib.sha1(picture.tobytes()).digest())
        min_face = detector.min_face_of(picture.size, full_size)
        if key not in cache:
            cache[key] = detector.detect_raw(picture, threshold, detector.plan_passes(picture.size, min_face))
        return detector.boxes_to_faces(cache[key], picture.size, enlarge, threshold, min_face)

    original = faces.detect_faces
    faces.detect_faces = detect
    try:
        yield
    finally:
        faces.detect_faces = original


def sweep(scenes: list[Scene], thresholds: Iterable[float], enlarges: Iterable, progress=None) -> list[str]:
    """Faces hidden and outside shares at each threshold × enlargement, through the pipeline (one line each)."""
    thresholds = sorted(thresholds)
    cache: dict = {}
    lines = ["thr   enlarge    " + "  ".join(f"{g:>18}" for g in ("hidden (box 95%)", "small out/extra",
                                                                   "large out/extra", "lfw hidden", "neg FP (out.max)"))]
    for threshold in thresholds:
        for enlarge in enlarges:
            if progress:
                progress(f"sweep {threshold} {enlarge}")
            with detector_settings(threshold, enlarge, cache):
                results = evaluate(scenes, explain=False)
            lines.append(_sweep_line(threshold, enlarge, results))
    return lines


def _sweep_line(threshold: float, enlarge, results: dict[str, list[dict]]) -> str:
    synthetic = [row for group in ("astronaut", "camera", "small", "large") for row in results.get(group, [])]
    hidden = [h for row in synthetic for h in row["hidden"]]
    box95 = sum(b for row in synthetic for b in row["box95"])

    def out(group):
        rows = results.get(group)
        if not rows:
            return "-"
        s = summary(rows)
        return f"{_pct(s['outside_mean'])}/{s['extra']:.2f}"

    lfw = summary(results["lfw"]) if results.get("lfw") else None
    negative = summary(results["negative"]) if results.get("negative") else None
    factor = "×".join(f"{e:.2f}" for e in (enlarge if isinstance(enlarge, tuple) else (enlarge,)))
    cells = (f"{sum(hidden)}/{len(hidden)} ({box95})", out("small"), out("large"),
             f"{lfw['hidden']}/{lfw['faces']}" if lfw else "-",
             f"{negative['regions']} ({_pct(negative['outside_max'])})" if negative else "-")
    return f"{threshold:.2f}  {factor:<9}  " + "  ".join(f"{c:>18}" for c in cells)


# ------------------------------------------------------------------------------------------------ what snapping costs

def _outward(box: tuple[int, int, int, int], cell: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return x0 // cell * cell, y0 // cell * cell, -(-x1 // cell) * cell, -(-y1 // cell) * cell


def _nearest_keeping(box: tuple[int, int, int, int], own: tuple[int, int, int, int], cell: int):
    """Each edge of the enlarged ``box`` moved to the nearest multiple of ``cell``, but never inside the detector's
    ``own`` box (before enlargement) grown outward: the margin may shrink, the face the network saw may not."""
    grown = _outward(own, cell)
    near = [int(round(v / cell)) * cell for v in box]
    return min(grown[0], near[0]), min(grown[1], near[1]), max(grown[2], near[2]), max(grown[3], near[3])


#: ways to grow a face's box to a grid: each takes the enlarged box, the detector's own box and the face's block
SNAPPING = {
    "block grid, 4:2:0 JPEG (earlier)": lambda box, own, block: _outward(box, math.lcm(block, 16)),
    "16 px, 4:2:0 MCU (earlier)": lambda box, own, block: _outward(box, 16),
    "8 px, a DCT block (now, JPEG)": lambda box, own, block: _outward(box, 8),
    "8 px, nearest, own box kept": lambda box, own, block: _nearest_keeping(box, own, 8),
    "none (lossless, earlier)": lambda box, own, block: box,
    f"{EXACT_FACE_MARGIN} px more (now, lossless)": lambda box, own, block: (
        box[0] - EXACT_FACE_MARGIN, box[1] - EXACT_FACE_MARGIN, box[2] + EXACT_FACE_MARGIN, box[3] + EXACT_FACE_MARGIN),
}


def snapping_what_if(scenes: list[Scene], enlarges: Iterable = (1.1, 1.15, 1.2), threshold: float | None = None,
                     pixel_size: int = DEFAULT_PIXEL_SIZE, face_blocks: int = DEFAULT_FACE_BLOCKS) -> list[str]:
    """Geometry only: the detector's boxes (``find_faces``) snapped by each of ``SNAPPING``, at each
    enlargement: faces hidden and the share of the area outside the faces the boxes cover, per group. What the
    pipeline would change if it snapped faces so (the rule "now" matches the pipeline's own figures)."""
    from pixelate.image import regions
    from pixelate.image.faces import DEFAULT_THRESHOLD
    from pixelate.image.options import Box, parse_options

    options = parse_options(pixel_size, faces=True, face_blocks=face_blocks)
    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    cache: dict = {}

    def boxes_at(enlarge) -> dict[str, list[tuple[int, int, int, int]]]:
        with detector_settings(threshold, enlarge, cache):
            return {scene.name: [_corners(face) for face in find_faces(scene.data).faces]
                    for scene in scenes if scene.faces}

    own = boxes_at(1.0)  # the same detections, best first, before enlargement
    lines = [f"{'enlarge':<8} {'snapped to':<30} " + "  ".join(f"{g:>22}" for g in ("small", "large", "lfw", "camera"))]
    for enlarge in enlarges:
        found = boxes_at(enlarge)
        for rule, snap in SNAPPING.items():
            by_group: dict[str, list] = {}
            for scene in scenes:
                if not scene.faces:
                    continue
                width, height = scene.image().size
                boxes = []
                for box, seen in zip(found[scene.name], own[scene.name], strict=True):
                    x0, y0, x1, y1 = snap(box, seen, regions.face_block(Box(*box), options))
                    boxes.append((max(0, x0), max(0, y0), min(width, x1), min(height, y1)))
                covered, truth = box_mask((width, height), boxes), box_mask((width, height), (f.box for f in scene.faces))
                hidden = []
                for face in scene.faces:
                    x0, y0, x1, y1 = face.box
                    visible = ~box_mask((width, height), [face.occluder] if face.occluder else [])[y0:y1, x0:x1]
                    hidden.append(covered[y0:y1, x0:x1][visible].mean() >= COVER_NEEDED)
                by_group.setdefault(scene.group, []).append((hidden, (covered & ~truth).sum() / (~truth).sum()))
            cells = []
            for group in ("small", "large", "lfw", "camera"):
                rows = by_group.get(group)
                hidden = [h for row in rows or [] for h in row[0]]
                cells.append(f"{sum(hidden)}/{len(hidden)} {_pct(statistics.mean(r[1] for r in rows))}/"
                             f"{_pct(max(r[1] for r in rows))}" if rows else "-")
            lines.append(f"×{enlarge:<7} {rule:<30} " + "  ".join(f"{c:>22}" for c in cells))
    return lines


# ------------------------------------------------------------------------------------------------ the command


def main(argv: list[str] | None = None) -> int:
    import sys

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few scenes of each kind (seconds)")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--runs", type=int, default=1, help="timed runs per image (median)")
    parser.add_argument("--pixel-size", type=int, default=DEFAULT_PIXEL_SIZE)
    parser.add_argument("--face-blocks", type=int, default=DEFAULT_FACE_BLOCKS)
    parser.add_argument("--no-skimage", action="store_true", help="leave out the scikit-image groups")
    parser.add_argument("--no-real", action="store_true", help="leave out the real photos (when fetched)")
    parser.add_argument("--sweep", action="store_true", help="also sweep thresholds × enlargements")
    parser.add_argument("--snapping", action="store_true", help="also what snapping the boxes otherwise would change")
    parser.add_argument("--lossless", action="store_true",
                        help="the scenes as PNG (the exact path: every input but an upright JPEG)")
    parser.add_argument("--save", help="also write the scenes and their boxes to this folder")
    args = parser.parse_args(argv)

    def progress(message: str) -> None:
        print(f"… {message}", file=sys.stderr, flush=True)

    build = face_scenes.build_quick if args.quick else face_scenes.build
    scenes = build(args.seed, with_skimage=not args.no_skimage)
    real = not args.no_real and real_photos.available()
    if real:
        scenes += real_photos.scenes()
    if args.lossless:
        scenes = [face_scenes.as_png_scene(scene) for scene in scenes]
    if args.save:
        face_scenes.save(scenes, args.save)
    print(f"{len(scenes)} {'PNG' if args.lossless else 'JPEG'} scenes (seed {args.seed}, scikit-image {'yes' if face_scenes.skimage_data_dir() and not args.no_skimage else 'no'},"
          f" real photos {'yes' if real else 'no: python -m pixelate.lab.real_photos'});"
          f" pixel size {args.pixel_size}, face blocks {args.face_blocks}; detector session load {session_load_ms():.0f} ms\n")
    results = evaluate(scenes, progress, pixel_size=args.pixel_size, face_blocks=args.face_blocks, runs=args.runs)
    print(report(results))
    if args.sweep:
        print("\n" + "\n".join(sweep(scenes, (0.2, 0.25, 0.3, 0.4), (1.0, 1.1, 1.15, 1.2, 1.3, (1.1, 1.2)), progress)))
    if args.snapping:
        print("\nFaces hidden and outside area covered (mean/max), with the boxes snapped otherwise (geometry only):")
        print("\n".join(snapping_what_if(scenes, pixel_size=args.pixel_size, face_blocks=args.face_blocks)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
