"""The detector's scales: the smallest face a photo is looked for at, the passes that gives, and panoramas, whose
smallest face is reckoned from their short side (as a 4:3 photo's) and whose long copies run in tiles."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from pixelate import pixelate_bytes
from pixelate.image.faces import detector
from pixelate.image.faces.detector import Pass
from tests.support.paths import SAMPLES

#: the astronaut's face in samples/astronaut.png (as tests/image/test_faces.py has it) and the head-and-shoulders
#: crop around it that the privacy review pasted into its panorama
ASTRONAUT_FACE = (178, 60, 272, 180)
ASTRONAUT_CROP = (150, 30, 300, 210)


# The plans of ordinary photos, as they were before panoramas got a rule of their own: their outputs (and the
# benchmark's 12 MP row) stay what they were only if these do.
ORDINARY = {
    (640, 480): (30, [Pass(640, True), Pass(960, True, 60)], 640),
    (500, 375): (30, [Pass(500, True), Pass(750, True, 60)], 500),
    (4000, 3000): (60, [Pass(1333), Pass(512)], 1333),
    (3000, 4000): (60, [Pass(1333), Pass(512)], 1333),
    (6000, 4000): (90, [Pass(1333), Pass(512)], 1333),
    (4000, 6000): (90, [Pass(1333), Pass(512)], 1333),
    (3000, 3000): (45, [Pass(1333), Pass(512)], 1333),
    (4032, 3024): (60.48, [Pass(1333), Pass(512)], 1333),
    (4032, 2268): (60.48, [Pass(1333), Pass(512)], 1333),  # 16:9, under 2:1: an ordinary photo too
    (1920, 1080): (30, [Pass(1280), Pass(512)], 1280),
}


@pytest.mark.parametrize("size", list(ORDINARY))
def test_an_ordinary_photo_keeps_its_smallest_face_and_its_passes(size):
    min_face, passes, preview = ORDINARY[size]
    assert detector.min_face_of(size) == pytest.approx(min_face)
    assert detector.plan_passes(size) == passes
    assert detector.preview_side(size) == preview
    # a reduced copy standing for the photo (a JPEG decoded at 1/2 in the DCT domain) reckons the same face
    half = (size[0] // 2, size[1] // 2)
    assert detector.min_face_of(half, size) == pytest.approx(min_face * max(half) / max(size))


@pytest.mark.parametrize("size, min_face", [
    ((8000, 1000), 30), ((1000, 8000), 30),  # 2 % of 1000 is under the 30 px every photo keeps
    ((4000, 1000), 30), ((12000, 1500), 30),
    ((4000, 2000), 40), ((12000, 3000), 60), ((3000, 12000), 60),
])
def test_a_panorama_looks_for_faces_as_small_against_its_short_side_as_a_4_3_photo_does(size, min_face):
    """Reckoned from its long side, the smallest face of an 8000×1000 panorama was 120 px: 12 % of its height,
    where a 4:3 photo looks for 2 % of its (1333×1000: 30 px)."""
    short = min(size)
    assert detector.min_face_of(size) == pytest.approx(min_face)
    assert detector.min_face_of(size) == pytest.approx(detector.min_face_of((round(short * 4 / 3), short)), abs=0.01)
    fine = detector.plan_passes(size)[0]
    assert fine.side == detector.preview_side(size) == int(max(size) * detector.NET_MIN_FACE_PX / min_face)


def test_a_panoramas_coarse_pass_is_as_high_as_a_4_3_photos():
    # 1333×1000 runs at 512×384 for the faces that fill its frame: 8000×1000 runs at 3072×384, six of those
    assert detector.plan_passes((8000, 1000)) == [Pass(5333), Pass(3072)]
    assert detector.plan_passes((1000, 8000)) == [Pass(5333), Pass(3072)]
    assert detector.plan_passes((12000, 3000)) == [Pass(4000), Pass(1536)]


def noisy_grey(size, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(np.clip(120 + rng.normal(0, 6, (size[1], size[0], 3)), 0, 255).astype(np.uint8))


def paste_face(canvas: Image.Image, face: float, x: int, y: int) -> tuple[int, int, int, int]:
    """The astronaut's head and shoulders pasted at (``x``, ``y``), her face about ``face`` px wide, as the privacy
    review's repro pastes it; her face's box (x0, y0, x1, y1)."""
    astronaut = Image.open(SAMPLES / "astronaut.png").convert("RGB")
    width = int(face / 0.6)
    canvas.paste(astronaut.crop(ASTRONAUT_CROP).resize((width, int(width * 1.2))), (x, y))
    scale = width / (ASTRONAUT_CROP[2] - ASTRONAUT_CROP[0])
    x0, y0, x1, y1 = ((v - o) * scale for v, o in zip(ASTRONAUT_FACE, ASTRONAUT_CROP[:2] * 2))
    return x + round(x0), y + round(y0), x + round(x1), y + round(y1)


def astronaut_panorama(tall: bool = False):
    """The privacy review's panorama (/tmp/review-leaks/repro_panorama_faces.py): faces of about 60-200 px in a
    row on a noisy grey 8000×1000 photo (or in a column on a 1000×8000 one, upright); and their boxes."""
    canvas = noisy_grey((1000, 8000) if tall else (8000, 1000))
    places = [(300 + 1200 * k, 350) for k in range(6)]
    return canvas, [paste_face(canvas, face, *(place[::-1] if tall else place))
                    for face, place in zip((60, 80, 100, 120, 160, 200), places)]


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def share_hidden(box, regions) -> float:
    """The share of ``box`` (x0, y0, x1, y1) inside the union of the pixelated ``regions``."""
    x0, y0, x1, y1 = box
    mask = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    for region in regions:
        mask[max(0, region["y"] - y0):max(0, region["y"] + region["h"] - y0),
             max(0, region["x"] - x0):max(0, region["x"] + region["w"] - x0)] = True
    return float(mask.mean())


@pytest.mark.parametrize("tall", [False, True], ids=["wide", "tall"])
def test_the_faces_of_a_panorama_are_hidden(tall):
    """The review's repro: its 60 and 80 px faces (7-10 % of the photo's height: the detector's boxes are 75-96 px)
    were left as they were, the smallest face looked for being 120 px; a 1000×1000 crop around one found it."""
    canvas, boxes = astronaut_panorama(tall)
    result = pixelate_bytes(jpeg(canvas), 16, faces=True)
    # each box, drawn from the hairline, at least 95 % pixelated (face boxes come from the eyes and mouth: the top
    # of a forehead may stay, as on every photo)
    assert [share for share in (share_hidden(box, result.regions) for box in boxes) if share < 0.95] == []
    assert len(result.regions) == len(boxes)  # and nothing on the grey around them


@pytest.mark.parametrize("length", [2048, 2049, 2666, 3712, 5333, 8000, 33333])
def test_a_long_copy_is_cut_into_alike_tiles_that_overlap_enough(length):
    spans = detector.tile_spans(length)
    sides = {end - start for start, end in spans}
    assert spans[0][0] == 0 and spans[-1][1] == length and len(sides) == 1
    assert max(sides) <= detector.TILE_SIDE_PX
    assert all(end - following >= detector.TILE_OVERLAP_PX for (_, end), (following, _) in zip(spans, spans[1:]))
    fewer = len(spans) - 1  # one tile fewer could not overlap as much
    assert len(spans) == 1 or fewer * detector.TILE_SIDE_PX - (fewer - 1) * detector.TILE_OVERLAP_PX < length


def test_a_box_is_taken_from_the_tile_a_face_lies_wholly_in_and_once(monkeypatch):
    """A tile that cuts a face may score the part it sees higher than its neighbour scores the whole face: that
    part is not kept (greedy NMS would keep it and drop the whole face's box), nor one that reaches a side the
    tile shares (a face wider than the overlap: the coarser pass sees it whole). A face inside the overlap, seen
    whole by both tiles, is kept once."""
    spans = detector.tile_spans(5333)
    assert spans == [(0, 2048), (1642, 3690), (3285, 5333)]
    per_tile = iter([
        [[1700, 300, 1760, 370, 0.9],     # inside the overlap, its centre in the first tile's own part
         [2000, 300, 2047, 400, 0.95]],   # the left half of a face the first tile's end cuts
        [[1700 - 1642, 300, 1760 - 1642, 370, 0.9],   # the same face inside the overlap
         [2000 - 1642, 300, 2100 - 1642, 400, 0.8],   # the cut face, whole
         [1645 - 1642, 100, 2100 - 1642, 600, 0.7]],  # wider than the overlap, cut by the second tile's start
        [],
    ])
    def run(tile, threshold, flip=False):  # the boxes, with landmarks (ten columns, not looked at here)
        return np.pad(np.array(next(per_tile), dtype=np.float32).reshape(-1, 5), ((0, 0), (0, 10)))

    monkeypatch.setattr(detector, "_run", run)
    found = sorted(row[:5] for row in detector._run_tiled(Image.new("RGB", (5333, 667)), 0.25).tolist())
    assert found == [[1700, 300, 1760, 370, pytest.approx(0.9)], [2000, 300, 2100, 400, pytest.approx(0.8)]]


def test_a_long_copy_runs_in_tiles_and_a_face_across_two_tiles_is_found_once(monkeypatch):
    """The network's memory grows with its input (an 8000×1000 copy peaked at 1.5 GB): copies longer than
    TILE_SIDE_PX run in overlapping tiles. A face cut by a tile's side is taken from the tile it lies wholly in."""
    size = (8000, 1000)
    fine = detector.plan_passes(size)[0].side  # 5333 × 667
    spans = detector.tile_spans(fine)
    scale = size[0] / fine
    # a 70 px face across the first tile's end, and one across the second tile's start (the face is in the
    # middle of the head pasted)
    canvas, cuts = noisy_grey(size, seed=1), (spans[0][1] * scale, spans[1][0] * scale)
    boxes = [paste_face(canvas, 70, round(cut - int(70 / 0.6) / 2), 400) for cut in cuts]
    assert all(x0 + 20 < cut < x1 - 20 for (x0, _, x1, _), cut in zip(boxes, cuts))

    seen = []
    run = detector._run

    def recorded(image, threshold, flip=False):
        seen.append(image.size)
        return run(image, threshold, flip)

    monkeypatch.setattr(detector, "_run", recorded)
    result = pixelate_bytes(jpeg(canvas), 16, faces=True)
    assert max(max(tile) for tile in seen) <= detector.TILE_SIDE_PX
    assert seen.count((spans[0][1], 667)) == len(spans) == 3
    assert [share for share in (share_hidden(box, result.regions) for box in boxes) if share < 0.95] == []
    assert len(result.regions) == 2  # each face once: not a box per tile


def test_an_ordinary_photos_passes_run_whole():
    # no ordinary photo's copy is longer than a tile (1333 px at most), so their passes run as they did, in one
    # piece; nor is a small photo's upscaled copy (a 1024 px photo runs at 682 px and 1023 px)
    for size in [*ORDINARY, (1024, 1024), (1024, 768), (2000, 1500), (1999, 1000)]:
        assert max(p.side for p in detector.plan_passes(size)) <= 1333 < detector.TILE_SIDE_PX


def test_a_copy_too_small_for_a_panoramas_smallest_face_judges_boxes_by_what_it_can_show(monkeypatch):
    """The page sends a 1344 px copy with the photo's size: 1344×168 for an 8000×1000 panorama, where the photo's
    30 px face is 5 px. The copy shows no face under 20 px, so its boxes need what they needed before panoramas had
    a rule of their own (a 30 px box 0.25, not the 0.5 of a box six times the smallest face; a 9 px box dropped)."""
    boxes = np.array([[100, 50, 130, 86, 0.3],   # 30 px
                      [400, 60, 409, 70, 0.9],   # 9 px
                      [700, 40, 712, 54, 0.6]])  # 12 px
    monkeypatch.setattr(detector, "detect_raw", lambda image, threshold, passes=None: boxes.copy())
    found = detector.detect_faces(Image.new("RGB", (1344, 168)), full_size=(8000, 1000))
    assert sorted(f.score for f in found) == [0.3, 0.6]
    # a copy as large as the finest pass needs is judged against the photo's own smallest face, as before
    assert detector.preview_side((4032, 3024)) <= 1344
    found = detector.detect_faces(Image.new("RGB", (1344, 1008)), full_size=(4032, 3024))
    assert sorted(f.score for f in found) == [0.3, 0.6]


@pytest.mark.parametrize("tall", [False, True], ids=["wide", "tall"])
def test_a_tiles_landmarks_are_moved_with_its_boxes(tall):
    """A face in the second tile of a long copy: its box and its landmarks (eyes, nose, mouth) from the tiled run
    are where a run on a piece of the copy around it puts them, moved by where that piece lies."""
    size = (667, 5333) if tall else (5333, 667)
    canvas = noisy_grey(size, seed=2)
    place = (200, 2600) if tall else (2600, 200)
    paste_face(canvas, 90, *place)
    tiled = detector._run_tiled(canvas, 0.5)
    piece_box = (0, 2300, 667, 3300) if tall else (2300, 0, 3300, 667)
    alone = detector._run(canvas.crop(piece_box), 0.5)
    assert len(detector.tile_spans(max(size))) == 3 and len(tiled) and len(alone)
    best, reference = tiled[np.argmax(tiled[:, 4])], alone[np.argmax(alone[:, 4])].copy()
    reference[detector._Y_COLUMNS if tall else detector._X_COLUMNS] += 2300
    # (the network sees the face padded differently in the two runs: a few pixels apart; unmoved, 2300 px)
    assert np.abs(best[:4] - reference[:4]).max() < 8 and np.abs(best[5:] - reference[5:]).max() < 8
