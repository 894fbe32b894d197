"""The options of a pixelation, and the one strict parser every door uses (API, S3 metadata, CLI, notebooks).

    >>> parse_options(pixel_size="24", method="Nearest", regions="10,20,200,100;0.5,0.5,0.25,0.25", faces="true")
    Options(pixel_size=24, method='nearest', regions=(Region(10, 20, 200, 100), Region(0.5, 0.5, 0.25, 0.25)), faces=True, face_blocks=8)

Strict on purpose; what one door accepts, every door accepts:

- a pixel size is an ``int`` or decimal ASCII digits (surrounding spaces allowed), 2 to 512: never a sign, a
  fraction, a bool or another script's digits;
- a region is ``x,y,w,h`` in the upright image, all four in pixels (whole numbers of at most 6 digits) or all four
  as fractions of the width and height (numbers from 0 to 1 with at most 9 decimals, such as ``0.25`` or ``1.0``;
  a rectangle with any number written with a decimal point is read as fractions, so ``0,0,1,0.5`` is the top
  half); several are joined with ``;``, and a text that names no rectangle (``;``) is refused. ``x,y,w,h,face``
  marks a region as a face (one a person found or kept): it gets a face's block (``face_blocks``). In Python a
  region may also be a tuple of four numbers (integers: pixels; any other real number: fractions, rounded to 9
  decimals as the text would be; numpy's numbers too), with ``"face"`` as a fifth item;
- ``faces`` is a bool (or 1/0), or ``true``/``false`` (also ``yes``/``no``, ``1``/``0``) in text;
- ``face_blocks`` (0 to 64) is the most blocks a detected face may span across: the block size is raised for a
  face that would otherwise keep more detail (default 8: a face is never left recognisable); 0 keeps the pixel
  size as asked.

Anything else is a ``PixelateError("invalid-option")`` whose message names the option and the value. Whether a
region lies inside the image is only known once the image is open: ``Region.box`` answers it.
"""
from __future__ import annotations

import math
from numbers import Integral, Real
import re
from dataclasses import dataclass, field
from collections.abc import Iterable, Mapping
from typing import Any

from pixelate.image.errors import PixelateError
from pixelate.image.limits import DEFAULT_METHOD, DEFAULT_PIXEL_SIZE, MAX_PIXEL_SIZE, METHODS, MIN_PIXEL_SIZE

#: longest pixel-size text looked at (a six-digit number is already far out of range), and most digits of a
#: region's pixel number
_MAX_DIGITS = 6
#: most regions one request may name (S3 metadata holds 2 KB in all: about 80 rectangles in pixels)
MAX_REGIONS = 64
#: the default and the range of ``face_blocks``
DEFAULT_FACE_BLOCKS = 8
MAX_FACE_BLOCKS = 64
#: a number in a region: digits, or digits with one decimal point (a fraction; one above 1, such as ``10.5``, is
#: matched too so that the answer can say why it is refused)
_NUMBER = re.compile(r"(?:[0-9]{1,6}|[0-9]{0,6}\.[0-9]{1,9}|[0-9]{1,6}\.)")
_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off", "")


@dataclass(frozen=True)
class Box:
    """A rectangle of the upright image in whole pixels: ``x0 <= x < x1``, ``y0 <= y < y1``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def corners(self) -> tuple[int, int, int, int]:
        return self.x0, self.y0, self.x1, self.y1


@dataclass(frozen=True)
class Region:
    """A rectangle to pixelate, as asked: ``x, y, w, h`` in pixels, or as fractions of the width and height."""

    x: float
    y: float
    w: float
    h: float
    fraction: bool = False
    face: bool = False  # a face marked by the client: pixelated with a face's block

    def __repr__(self) -> str:
        return f"Region({self.as_text().replace(',', ', ')})"

    def as_text(self) -> str:
        """``x,y,w,h`` (``x,y,w,h,face`` for a face) as the parser reads it back (fractions with a decimal point)."""
        numbers = ",".join(_fraction_text(v) if self.fraction else str(int(v)) for v in (self.x, self.y, self.w, self.h))
        return f"{numbers},face" if self.face else numbers

    def box(self, width: int, height: int) -> Box:
        """The region in pixels of a ``width``×``height`` image, clipped to it; ``invalid-option`` when nothing of
        it is left. Fractions round outward, so a region never shrinks below what was asked."""
        if self.fraction:
            x0, y0 = _outward(self.x * width, math.floor), _outward(self.y * height, math.floor)
            x1, y1 = _outward((self.x + self.w) * width, math.ceil), _outward((self.y + self.h) * height, math.ceil)
        else:
            x0, y0, x1, y1 = int(self.x), int(self.y), int(self.x + self.w), int(self.y + self.h)
        clipped = Box(max(0, x0), max(0, y0), min(width, x1), min(height, y1))
        if clipped.width <= 0 or clipped.height <= 0:
            raise invalid(f"The region {self.as_text()} lies outside the {width}×{height} image.")
        return clipped


@dataclass(frozen=True)
class Options:
    """How to pixelate: the block size in pixels, how a block gets its colour, and where.

    With no ``regions`` and ``faces`` off the whole image is pixelated; otherwise only the regions and the
    detected faces are, and the rest of the image is left as it was.
    """

    pixel_size: int = DEFAULT_PIXEL_SIZE
    method: str = DEFAULT_METHOD
    regions: tuple[Region, ...] = field(default=())
    faces: bool = False
    face_blocks: int = DEFAULT_FACE_BLOCKS

    @property
    def whole_image(self) -> bool:
        """True when the whole image is pixelated (no regions asked, no faces to find)."""
        return not self.regions and not self.faces

    def as_record(self) -> dict[str, Any]:
        """The options as the status record and the idempotency check write them."""
        record: dict[str, Any] = {"pixel_size": self.pixel_size, "method": self.method}
        record["regions"] = [region.as_text() for region in self.regions]
        record["faces"] = self.faces
        if self.faces or any(region.face for region in self.regions):  # (a marked face gets a face's block too)
            record["face_blocks"] = self.face_blocks
        return record


def parse_pixel_size(value: object) -> int:
    """An integer pixel size from 2 to 512, from an ``int`` or decimal ASCII digits; else ``invalid-option``."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise invalid(f"The pixel size must be a whole number from {MIN_PIXEL_SIZE} to {MAX_PIXEL_SIZE}, not {value!r}.")
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > _MAX_DIGITS or not MIN_PIXEL_SIZE <= int(text) <= MAX_PIXEL_SIZE:
        raise invalid(f"The pixel size must be a whole number from {MIN_PIXEL_SIZE} to {MAX_PIXEL_SIZE}, not {text[:20]!r}.")
    return int(text)


def parse_method(value: object) -> str:
    """A method name, case-insensitive, one of ``METHODS``; else ``invalid-option``."""
    name = value.strip().lower() if isinstance(value, str) else None
    if name not in METHODS:
        raise invalid(f"The method must be one of {', '.join(METHODS)}, not {str(value)[:20]!r}.")
    return name


def parse_regions(value: object) -> tuple[Region, ...]:
    """Regions from text (``x,y,w,h;x,y,w,h``), or from an iterable of regions, texts or 4-tuples of numbers."""
    if value is None:
        return ()
    if isinstance(value, str):
        parts = [part for part in value.split(";") if part.strip()] if value.strip() else []
        if value.strip() and not parts:
            raise invalid(f"The regions {value[:40]!r} name no rectangle: x,y,w,h, several joined with ';'.")
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raise invalid("The regions must be text or x,y,w,h rectangles, not bytes.")
    elif isinstance(value, Region):
        parts = [value]
    elif isinstance(value, Mapping):  # (its keys would be read as regions: {"x": 1} as region 'x')
        raise invalid(f"The regions must be x,y,w,h rectangles (text, or lists of four numbers), not {_shown(value)}.")
    else:
        try:
            parts = list(value)  # type: ignore[arg-type]
        except TypeError:
            raise invalid(f"The regions must be x,y,w,h rectangles, not {value!r}.") from None
        if len(parts) in (4, 5) and all(_is_number(v) for v in parts[:4]) and not isinstance(parts[0], (list, tuple)):
            parts = [tuple(parts)]  # one rectangle given as four numbers (and its kind)
    if len(parts) > MAX_REGIONS:
        raise invalid(f"At most {MAX_REGIONS} regions can be asked for, not {len(parts)}.")
    return tuple(parse_region(part, index) for index, part in enumerate(parts, 1))


def parse_region(value: object, index: int = 1) -> Region:
    """One region: a ``Region``, the text ``x,y,w,h`` (or ``x,y,w,h,face``), or four numbers (ints: pixels; floats:
    fractions) with ``"face"`` as an optional fifth item."""
    if isinstance(value, Region):
        return value
    if isinstance(value, str):
        numbers = [text.strip() for text in value.split(",")]
        face = len(numbers) == 5 and numbers[4].lower() == "face"
        numbers = numbers[:4] if face else numbers
        if len(numbers) == 4 and any(text.startswith("-") for text in numbers):
            raise invalid(f"Region {index} ({value[:40]}) has a negative number: x and y count from the image's "
                          "top-left corner, 0,0 (a region reaching past the right or bottom edge is clipped).")
        if len(numbers) != 4 or not all(_NUMBER.fullmatch(text) for text in numbers):
            raise invalid(f"Region {index} must be four numbers x,y,w,h (pixels, or fractions such as 0.25), "
                          f"and 'face' after them for a face, not {value[:40]!r}.")
        fraction = any("." in text for text in numbers)
        values = [float(text) if fraction else int(text) for text in numbers]
        text = ",".join(numbers)
    else:
        try:
            values = list(value)  # type: ignore[arg-type]
        except TypeError:
            values = []
        face = len(values) == 5 and isinstance(values[4], str) and values[4].lower() == "face"
        values = values[:4] if face else values
        if len(values) != 4 or not all(_is_number(v) for v in values) or any(not _finite(v) or v < 0 for v in values):
            raise invalid(f"Region {index} must be four numbers x,y,w,h that are not negative (and 'face' after them "
                          f"for a face), not {_shown(value)}.")
        if any(isinstance(v, Integral) and v >= 10**_MAX_DIGITS for v in values):
            raise invalid(f"Region {index} is too large: a number in pixels has at most {_MAX_DIGITS} digits.")
        fraction = not all(isinstance(v, Integral) for v in values)
        # the same numbers the text of this region would give (the API signs that text into an upload)
        values = [round(float(v), 9) if fraction else int(v) for v in values]
        text = ",".join(_fraction_text(v) if fraction else str(v) for v in values)[:80]
    x, y, w, h = values
    if fraction:
        if not all(0 <= v <= 1 for v in values):
            raise invalid(
                f"Region {index} ({text}) is read as fractions (a number has a decimal point), and as fractions all "
                "four numbers lie between 0 and 1; in pixels all four are whole numbers."
            )
        if w <= 0 or h <= 0:
            raise invalid(f"Region {index} ({text}) is empty: its width and height must be above 0.")
        return Region(float(x), float(y), float(w), float(h), fraction=True, face=face)
    if w <= 0 or h <= 0:
        raise invalid(f"Region {index} ({text}) is empty: its width and height must be at least 1 pixel.")
    return Region(int(x), int(y), int(w), int(h), face=face)


def parse_flag(value: object, name: str = "faces") -> bool:
    """A bool, the number 1 or 0, or ``true``/``false`` (``yes``/``no``, ``1``/``0``, ``on``/``off``) in any case;
    ``None`` (JSON's null: not given) is false."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int) and value in (0, 1):  # (JSON's 1 and 0, as the text "1" and "0")
        return bool(value)
    text = value.strip().lower() if isinstance(value, str) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise invalid(f"{name} must be true or false, not {str(value)[:20]!r}.")


def parse_face_blocks(value: object) -> int:
    """Most blocks across a detected face: a whole number from 0 (the pixel size as asked) to 64."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise invalid(f"face_blocks must be a whole number from 0 to {MAX_FACE_BLOCKS}, not {value!r}.")
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 3 or int(text) > MAX_FACE_BLOCKS:
        raise invalid(f"face_blocks must be a whole number from 0 to {MAX_FACE_BLOCKS}, not {text[:20]!r}.")
    return int(text)


def parse_options(
    pixel_size: object = DEFAULT_PIXEL_SIZE,
    method: object = DEFAULT_METHOD,
    regions: object = None,
    faces: object = False,
    face_blocks: object = DEFAULT_FACE_BLOCKS,
) -> Options:
    """Options from raw values (strings from a query, metadata or a command line, or already typed)."""
    return Options(
        pixel_size=parse_pixel_size(pixel_size),
        method=parse_method(method),
        regions=parse_regions(regions),
        faces=parse_flag(faces),
        face_blocks=parse_face_blocks(face_blocks),
    )


def invalid(message: str) -> PixelateError:
    """The rejection of an option: ``invalid-option`` with ``message``."""
    return PixelateError("invalid-option", message)


def _is_number(value: object) -> bool:
    """A real number (numpy's too; numpy's bool is not one), not a bool."""
    return isinstance(value, Real) and not isinstance(value, bool)


def _shown(value: object) -> str:
    """``value`` as a message may quote it: at most 80 characters (an int past 4300 digits has no str at all)."""
    try:
        return repr(value)[:80]
    except ValueError:
        return "a number too long to show"


def _finite(value: Real) -> bool:
    """True for every int (math.isfinite overflows on one too large for a float) and finite floats."""
    return isinstance(value, Integral) or math.isfinite(value)


def _outward(value: float, rounding) -> int:
    """``value`` rounded outward with ``rounding`` (floor or ceil), but to the nearest whole number when it is one
    but for float error: (0.1 + 0.2) × 100 is 30, not 31. A fraction of 9 decimals times a width in pixels is a
    multiple of 1e-9: nearer a whole number than that, only float error (under 5e-10 below a million pixels
    across) puts it there."""
    nearest = round(value)
    return nearest if abs(value - nearest) < 5e-10 else rounding(value)


def _fraction_text(value: float) -> str:
    """A fraction with a decimal point and at most 9 decimals (what the parser reads): 0.25, 1.0, 0.00001."""
    text = f"{value:.9f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def regions_text(regions: Iterable[Region]) -> str:
    """Regions as one text, ``x,y,w,h;x,y,w,h`` (what ``x-amz-meta-regions`` carries)."""
    return ";".join(region.as_text() for region in regions)
