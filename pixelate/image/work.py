"""What the steps of the image pipeline share: the input, the options, and what each step found for the next."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from PIL import Image

from pixelate.image.encode import Grid
from pixelate.image.limits import Limits
from pixelate.image.options import Options
from pixelate.image.regions import Target
from pixelate.image.result import Result


@dataclass
class Work:
    """The state of one run of the pipeline (imgproxy's processing context)."""

    data: bytes
    options: Options
    limits: Limits
    fast: bool = True
    format: str | None = None  # sniffed from the bytes
    image: Image.Image | None = None  # opened, header checked, not decoded
    orientation: int = 1  # EXIF orientation still to apply to the frames
    size: tuple[int, int] | None = None  # the upright size of the first frame
    stands_for: tuple[int, int] | None = None  # faces in a reduced copy: the upright size of the photo it stands for
    targets: list[Target] = field(default_factory=list)  # regions mode: the boxes of every frame, unsnapped
    found_faces: bool = False  # regions mode: faces were looked for in the first frame already
    still: Any = None  # regions mode: the first frame, decoded while looking for faces (reused)
    grids: list[Grid] = field(default_factory=list)  # per frame: one pixel per block (whole image) or the frame itself
    durations: list[float] = field(default_factory=list)
    pixelated: list[dict] = field(default_factory=list)  # regions mode: what was pixelated (Result.regions)
    out_format: str | None = None
    icc_profile: bytes | None = None  # read before the first seek: frames may carry their own info
    loop: int | None = None
    default_image: bool = False  # an APNG whose first frame is its default image, outside the animation
    input_settings: dict | None = None  # regions mode: to encode like the input (a JPEG's tables, a WebP's kind)
    result: Result | None = None


Step = Callable[[Work], None]
