"""Scenes with faces whose boxes are known: the evaluation set of the face detector (``face_eval`` measures it).

There are no real group photos here, so scenes are composed, deterministically for a seed, from images the
project can reach:

- **the face**: a head-and-shoulders cut-out of ``samples/astronaut.png``. One person: the set measures how
  scale, rotation, occlusion, colour and background are handled, *not* how the variety of real faces is;
- **backgrounds and occluders**: ``coffee.png``, ``chelsea.png`` (a cat) and ``rocket.jpg`` from ``samples/``;
- **with scikit-image installed** (the ``dev`` extra; its wheel bundles these files): ``lfw_subset``, 100 *real*
  faces of many people from Labeled Faces in the Wild (25×25 grey tight crops: many identities, poses,
  glasses; but tiny, grey, without hair or context) and 100 non-face patches; ``camera.png`` (the cameraman,
  a real face turned and partly hidden by the camera and his hand); and the people-free images as negatives
  (coins, grass, a horse, the moon, both motorcycles…). Without scikit-image those groups are left out.

Every scene is encoded as a quality-90 JPEG, as an upload would be (``Scene.data``), and its ground-truth boxes
are in that image's pixels.

Groups (``build``): ``astronaut`` (the photo itself, one face); ``small`` (~500 px canvases, 3-6 faces of 30-120
px, each canvas with one face under 40 px); ``large`` (4032×3024 canvases, 4-7 faces of 60-200 px, every other
canvas with a face of 300-900 px); ``lfw`` (~500 px canvases with 10 LFW faces each, 30-64 px crops);
``camera``; ``negative`` (no people: the backgrounds, two 12 MP mosaics, LFW non-face patches, scikit-image's
people-free images).

A face is ``plain``, ``rotated`` (±15-30°) or ``occluded`` (a rectangle over 30 % of its box from one side,
recorded as ``occluder``). Its box is the hand-judged box of the astronaut's face (hair line to chin, cheek to
cheek), scaled; for a rotated face, the bounding box of the rotated ellipse inscribed in that box; an occluded
face keeps its whole box. For an LFW crop, the crop's central 70 % × 80 % (eyes, nose, mouth, cheeks): the
square crops hold background at their sides, which no hand box would include.
"""
from __future__ import annotations

import io
import math
import os
import random
from dataclasses import dataclass, field
from functools import lru_cache

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from pixelate.bench.workloads import SAMPLES

BACKGROUNDS = ("coffee.png", "chelsea.png", "rocket.jpg")
JPEG_QUALITY = 90
#: the astronaut's face in samples/astronaut.png (x0, y0, x1, y1), judged by hand; a full-resolution detection
#: gives (181, 58)-(270, 178)
ASTRONAUT_FACE = (178, 60, 272, 180)
#: the cameraman's face in scikit-image's camera.png, judged by hand
CAMERA_FACE = (198, 116, 256, 198)
#: scikit-image's images with no person in them
SKIMAGE_NEGATIVES = ("brick", "coins", "grass", "gravel", "horse", "hubble_deep_field", "moon", "motorcycle_left",
                     "motorcycle_right", "page", "retina", "text", "clock_motion", "logo", "color", "cell", "ihc")

_CROP = (80, 0, 370, 330)  # the cut-out, in astronaut.png
_FACE_IN_CROP = (ASTRONAUT_FACE[0] - _CROP[0], ASTRONAUT_FACE[1] - _CROP[1],
                 ASTRONAUT_FACE[2] - _CROP[0], ASTRONAUT_FACE[3] - _CROP[1])
_HEAD_ELLIPSE = (68, 14, 230, 215)  # hair and face, in the cut-out
_BODY_ELLIPSE = (5, 150, 285, 520)  # shoulders (runs off the cut-out's bottom)
SMALL_SIZES = ((500, 375), (512, 384), (480, 480), (500, 333), (375, 500))
LARGE_SIZES = ((4032, 3024), (4032, 3024), (3024, 4032))


@dataclass(frozen=True)
class GroundTruthFace:
    """A face's box in the scene's pixels; ``occluder`` (x0, y0, x1, y1) is what hides part of it, if anything."""

    x: int
    y: int
    w: int
    h: int
    kind: str  # plain | rotated | occluded | turned | lfw
    occluder: tuple[int, int, int, int] | None = None

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.x, self.y, self.x + self.w, self.y + self.h


@dataclass
class Scene:
    """One test image: its encoded bytes (a JPEG, as uploaded), its group and its faces' boxes."""

    name: str
    group: str
    data: bytes
    faces: list[GroundTruthFace] = field(default_factory=list)

    def image(self) -> Image.Image:
        """The scene decoded (RGB), as the pipeline sees it."""
        with Image.open(io.BytesIO(self.data)) as image:
            return image.convert("RGB")


def as_jpeg(image: Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def as_png_scene(scene: Scene) -> Scene:
    """``scene`` with the same pixels as a PNG: what the exact path (every input but an upright JPEG) gets."""
    buffer = io.BytesIO()
    scene.image().save(buffer, "PNG", compress_level=1)
    return Scene(scene.name, scene.group, buffer.getvalue(), scene.faces)


# ------------------------------------------------------------------------------------------------ sources


@lru_cache(maxsize=None)
def _sample(name: str) -> Image.Image:
    with Image.open(SAMPLES / name) as image:
        return image.convert("RGB")


def _astronaut_sprite() -> tuple[Image.Image, Image.Image]:
    """The head-and-shoulders cut-out of the astronaut and its soft mask."""
    crop = _sample("astronaut.png").crop(_CROP)
    mask = Image.new("L", crop.size, 0)
    draw = ImageDraw.Draw(mask)
    draw.ellipse(_HEAD_ELLIPSE, fill=255)
    draw.ellipse(_BODY_ELLIPSE, fill=255)
    return crop, mask.filter(ImageFilter.GaussianBlur(3))


def skimage_data_dir() -> str | None:
    """scikit-image's bundled data folder, or None when scikit-image is not installed."""
    try:
        import skimage
    except ImportError:
        return None
    return os.path.join(os.path.dirname(skimage.__file__), "data")


# ------------------------------------------------------------------------------------------------ backgrounds


def _cover(image: Image.Image, size: tuple[int, int], rng: random.Random, zoom: float) -> Image.Image:
    """A random crop of ``image`` scaled to cover ``size`` (``zoom`` more), maybe mirrored."""
    width, height = size
    scale = max(width / image.width, height / image.height) * zoom
    big = image.resize((math.ceil(image.width * scale), math.ceil(image.height * scale)), Image.BICUBIC)
    x, y = rng.randint(0, big.width - width), rng.randint(0, big.height - height)
    out = big.crop((x, y, x + width, y + height))
    return out.transpose(Image.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else out


def _small_background(size, rng: random.Random) -> Image.Image:
    return _cover(_sample(rng.choice(BACKGROUNDS)), size, rng, rng.uniform(1.0, 1.5))


def _large_background(size, rng: random.Random) -> Image.Image:
    """A 2×2 mosaic of upscaled sample photos with sensor-like noise (σ = 4)."""
    import numpy as np

    width, height = size
    canvas = Image.new("RGB", size)
    for x0, y0, x1, y1 in ((0, 0, width // 2, height // 2), (width // 2, 0, width, height // 2),
                           (0, height // 2, width // 2, height), (width // 2, height // 2, width, height)):
        canvas.paste(_cover(_sample(rng.choice(BACKGROUNDS)), (x1 - x0, y1 - y0), rng, rng.uniform(1.0, 1.3)), (x0, y0))
    pixels = np.asarray(canvas, dtype=np.float32)
    pixels += np.random.default_rng(rng.randrange(2**32)).normal(0, 4.0, pixels.shape).astype(np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


# ------------------------------------------------------------------------------------------------ faces


def _rotated_ellipse_box(cx: float, cy: float, w: float, h: float, degrees: float):
    """The axis-aligned box of a ``w``×``h`` ellipse rotated about its centre."""
    t = math.radians(degrees)
    hx = math.hypot(w / 2 * math.cos(t), h / 2 * math.sin(t))
    hy = math.hypot(w / 2 * math.sin(t), h / 2 * math.cos(t))
    return cx - hx, cy - hy, cx + hx, cy + hy


def _styled_sprite(sprite, mask, face_width: float, angle: float, rng: random.Random):
    """The sprite scaled to ``face_width``, colour-jittered, maybe mirrored and rotated: (image, mask, face box)."""
    s = face_width / (_FACE_IN_CROP[2] - _FACE_IN_CROP[0])
    size = (max(1, round(sprite.width * s)), max(1, round(sprite.height * s)))
    image, alpha = sprite.resize(size, Image.LANCZOS), mask.resize(size, Image.LANCZOS)
    x0, y0, x1, y1 = (v * s for v in _FACE_IN_CROP)
    if rng.random() < 0.5:
        image, alpha = image.transpose(Image.FLIP_LEFT_RIGHT), alpha.transpose(Image.FLIP_LEFT_RIGHT)
        x0, x1 = size[0] - x1, size[0] - x0
    image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.7, 1.25))
    image = ImageEnhance.Contrast(image).enhance(rng.uniform(0.8, 1.2))
    image = ImageEnhance.Color(image).enhance(rng.uniform(0.6, 1.2))
    box = (x0, y0, x1, y1)
    if angle:
        width, height = image.size
        image = image.rotate(angle, Image.BICUBIC, expand=True)
        alpha = alpha.rotate(angle, Image.BICUBIC, expand=True)
        # the face's centre turns about the sprite's centre
        cx, cy = (x0 + x1) / 2 - width / 2, (y0 + y1) / 2 - height / 2
        t = math.radians(angle)
        ncx = cx * math.cos(t) + cy * math.sin(t) + image.width / 2
        ncy = -cx * math.sin(t) + cy * math.cos(t) + image.height / 2
        box = _rotated_ellipse_box(ncx, ncy, x1 - x0, y1 - y0, angle)
    return image, alpha, box


def _occlude(canvas: Image.Image, box, rng: random.Random) -> tuple[int, int, int, int]:
    """Cover 30 % of ``box`` from one side with a solid colour or a photo patch; returns the patch's box."""
    x0, y0, x1, y1 = box
    w, h, pad = x1 - x0, y1 - y0, 0.25
    side = rng.choice(("left", "right", "bottom", "bottom", "top"))
    if side == "left":
        r = (x0 - pad * w, y0 - pad * h, x0 + 0.3 * w, y1 + pad * h)
    elif side == "right":
        r = (x1 - 0.3 * w, y0 - pad * h, x1 + pad * w, y1 + pad * h)
    elif side == "bottom":
        r = (x0 - pad * w, y1 - 0.3 * h, x1 + pad * w, y1 + pad * h)
    else:
        r = (x0 - pad * w, y0 - pad * h, x1 + pad * w, y0 + 0.3 * h)
    r = tuple(int(round(v)) for v in r)
    size = (r[2] - r[0], r[3] - r[1])
    if rng.random() < 0.5:
        patch = Image.new("RGB", size, tuple(rng.randint(0, 255) for _ in range(3)))
    else:
        patch = _cover(_sample(rng.choice(BACKGROUNDS)), size, rng, 1.0)
    canvas.paste(patch, r[:2])
    return r


def _overlaps(a, b, margin: float = 0.0) -> bool:
    return not (a[2] + margin <= b[0] or b[2] + margin <= a[0] or a[3] + margin <= b[1] or b[3] + margin <= a[1])


def _place_faces(canvas: Image.Image, widths, rng: random.Random, sprite, mask) -> list[GroundTruthFace]:
    """One sprite per face width, biggest first, each wholly inside and never over an earlier face."""
    faces: list[GroundTruthFace] = []
    for face_width in sorted(widths, reverse=True):
        r = rng.random()
        kind = "rotated" if r < 0.3 else "occluded" if r < 0.55 else "plain"
        angle = rng.choice((-1, 1)) * rng.uniform(15, 30) if kind == "rotated" else 0.0
        image, alpha, fb = _styled_sprite(sprite, mask, face_width, angle, rng)
        for _ in range(200):
            ox = rng.randint(-int(fb[0]), int(canvas.width - fb[2]))
            oy = rng.randint(-int(fb[1]), int(canvas.height - fb[3]))
            box = (ox + fb[0], oy + fb[1], ox + fb[2], oy + fb[3])
            body = (ox, oy, ox + image.width, oy + image.height)
            if min(box) >= 0 and box[2] <= canvas.width and box[3] <= canvas.height \
                    and not any(_overlaps(body, f.box, 2) for f in faces):
                break
        else:
            continue  # no room left for this face
        canvas.paste(image, (ox, oy), alpha)
        occluder = _occlude(canvas, box, rng) if kind == "occluded" else None
        x0, y0 = math.floor(box[0]), math.floor(box[1])
        faces.append(GroundTruthFace(x0, y0, math.ceil(box[2]) - x0, math.ceil(box[3]) - y0, kind, occluder))
    return faces


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


# ------------------------------------------------------------------------------------------------ the groups


def astronaut_scene() -> Scene:
    """The astronaut photo itself, with its one face."""
    x0, y0, x1, y1 = ASTRONAUT_FACE
    return Scene("astronaut", "astronaut", as_jpeg(_sample("astronaut.png")), [GroundTruthFace(x0, y0, x1 - x0, y1 - y0, "plain")])


def small_scenes(count: int, rng: random.Random) -> list[Scene]:
    """~500 px canvases with 3-6 faces of 30-120 px, one of them under 40 px."""
    sprite, mask = _astronaut_sprite()
    scenes = []
    for index in range(count):
        canvas = _small_background(rng.choice(SMALL_SIZES), rng)
        widths = [_log_uniform(rng, 30, 120) for _ in range(rng.randint(3, 6))]
        widths[0] = rng.uniform(30, 40)
        faces = _place_faces(canvas, widths, rng, sprite, mask)
        scenes.append(Scene(f"small{index:02d}", "small", as_jpeg(canvas), faces))
    return scenes


def large_scenes(count: int, rng: random.Random) -> list[Scene]:
    """12 MP canvases with 4-7 faces of 60-200 px (one of 60-70), every other one with a 300-900 px face."""
    sprite, mask = _astronaut_sprite()
    scenes = []
    for index in range(count):
        canvas = _large_background(LARGE_SIZES[index % len(LARGE_SIZES)], rng)
        widths = [_log_uniform(rng, 60, 200) for _ in range(rng.randint(4, 7))]
        widths[0] = rng.uniform(60, 70)
        if index % 2 == 0:
            widths.append(rng.uniform(300, 900))
        faces = _place_faces(canvas, widths, rng, sprite, mask)
        scenes.append(Scene(f"large{index:02d}", "large", as_jpeg(canvas), faces))
    return scenes


def negative_scenes(rng: random.Random, mosaics: int = 2) -> list[Scene]:
    """The background photos alone, and 12 MP mosaics of them: no people."""
    scenes = [Scene(name.split(".")[0], "negative", as_jpeg(_sample(name))) for name in BACKGROUNDS]
    for index in range(mosaics):
        scenes.append(Scene(f"mosaic12mp{index}", "negative", as_jpeg(_large_background((4032, 3024), rng))))
    return scenes


def _paste_patches(canvas: Image.Image, patches, widths, rng: random.Random, kind: str) -> list[GroundTruthFace]:
    """Square grey patches pasted at random free spots; their boxes."""
    placed: list[GroundTruthFace] = []
    for patch, width in zip(patches, widths):
        width = int(round(width))
        tile = Image.fromarray(patch).convert("RGB").resize((width, width), Image.BICUBIC)
        for _ in range(300):
            x, y = rng.randint(0, canvas.width - width), rng.randint(0, canvas.height - width)
            if not any(_overlaps((x, y, x + width, y + width), f.box, 4) for f in placed):
                canvas.paste(tile, (x, y))
                placed.append(GroundTruthFace(x, y, width, width, kind))
                break
    return placed


def _lfw_core(crop: GroundTruthFace) -> GroundTruthFace:
    """An LFW crop's face: its central 70 % × 80 % (the crops hold background at their sides)."""
    x0, y0 = crop.x + round(0.15 * crop.w), crop.y + round(0.10 * crop.h)
    x1, y1 = crop.x + round(0.85 * crop.w), crop.y + round(0.90 * crop.h)
    return GroundTruthFace(x0, y0, x1 - x0, y1 - y0, "lfw")


def lfw_scenes(rng: random.Random, data_dir: str, canvases: int = 10, negatives: int = 5) -> list[Scene]:
    """``canvases`` canvases of 10 real LFW faces each (30-64 px crops), ``negatives`` of 20 non-face patches."""
    import numpy as np

    patches = (np.load(os.path.join(data_dir, "lfw_subset.npy")) * 255).astype(np.uint8)
    scenes = []
    for index in range(canvases):
        canvas = _small_background(rng.choice(SMALL_SIZES[:3]), rng)
        widths = [_log_uniform(rng, 30, 64) for _ in range(10)]
        crops = _paste_patches(canvas, patches[index * 10:(index + 1) * 10], widths, rng, "lfw")
        scenes.append(Scene(f"lfw{index}", "lfw", as_jpeg(canvas), [_lfw_core(crop) for crop in crops]))
    for index in range(negatives):
        canvas = _small_background(rng.choice(SMALL_SIZES[:3]), rng)
        widths = [_log_uniform(rng, 30, 64) for _ in range(20)]
        _paste_patches(canvas, patches[100 + index * 20:120 + index * 20], widths, rng, "patch")
        scenes.append(Scene(f"lfw_nonface{index}", "negative", as_jpeg(canvas)))
    return scenes


def skimage_scenes(data_dir: str, negatives: tuple[str, ...] = SKIMAGE_NEGATIVES) -> list[Scene]:
    """The cameraman (one turned, partly hidden face) and scikit-image's people-free images."""
    def load(stem: str) -> Image.Image:
        name = next(f for f in sorted(os.listdir(data_dir)) if f.split(".")[0] == stem)
        with Image.open(os.path.join(data_dir, name)) as image:
            return image.convert("RGB")

    x0, y0, x1, y1 = CAMERA_FACE
    scenes = [Scene("camera", "camera", as_jpeg(load("camera")), [GroundTruthFace(x0, y0, x1 - x0, y1 - y0, "turned")])]
    return scenes + [Scene(stem, "negative", as_jpeg(load(stem))) for stem in negatives]


def build(seed: int = 1234, small: int = 40, large: int = 8, with_skimage: bool = True) -> list[Scene]:
    """Every scene, the same for a given seed (and library versions): astronaut, small, large, negatives and,
    with scikit-image, lfw, camera and more negatives."""
    rng = random.Random(seed)
    scenes = [astronaut_scene(), *small_scenes(small, rng), *large_scenes(large, rng), *negative_scenes(rng)]
    data_dir = skimage_data_dir() if with_skimage else None
    if data_dir:
        scenes += lfw_scenes(random.Random(seed + 1), data_dir) + skimage_scenes(data_dir)
    return scenes


def build_quick(seed: int = 1234, with_skimage: bool = True) -> list[Scene]:
    """A few scenes of each kind, for tests (seconds): the astronaut, 4 small canvases, one 12 MP canvas, the
    three background photos and, with scikit-image, the cameraman and both motorcycles."""
    rng = random.Random(seed)
    scenes = [astronaut_scene(), *small_scenes(4, rng), *large_scenes(1, rng), *negative_scenes(rng, mosaics=0)]
    data_dir = skimage_data_dir() if with_skimage else None
    if data_dir:
        scenes += skimage_scenes(data_dir, ("motorcycle_left", "motorcycle_right"))
    return scenes


def save(scenes: list[Scene], folder: str) -> None:
    """The scenes as JPEG files and their boxes as ``ground_truth.json``, to look at."""
    import json

    os.makedirs(folder, exist_ok=True)
    truth = {}
    for scene in scenes:
        with open(os.path.join(folder, scene.name + ".jpg"), "wb") as out:
            out.write(scene.data)
        truth[scene.name] = {"group": scene.group, "faces": [vars(face) for face in scene.faces]}
    with open(os.path.join(folder, "ground_truth.json"), "w") as out:
        json.dump(truth, out, indent=1)
