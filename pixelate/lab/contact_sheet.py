"""A contact sheet: originals beside their pixelated copies, one row per image, as a single PNG image."""
from __future__ import annotations

import io
from typing import Iterable, NamedTuple

from PIL import Image, ImageDraw, ImageOps

CELL = 256  # the longest side of each thumbnail, in pixels
PAD = 12
CAPTION = 18
BACKGROUND = (246, 246, 244)
CHECKER = ((224, 224, 224), (255, 255, 255))


class Row(NamedTuple):
    """One image on the sheet: its label, the original bytes, the pixelated bytes (None if rejected), a caption."""

    label: str
    original: bytes | None
    pixelated: bytes | None
    caption: str = ""


def contact_sheet(rows: Iterable[Row | tuple]) -> Image.Image:
    """Lay out each row as [original | pixelated] with its label and caption underneath."""
    rows = [Row(*row) for row in rows]
    width = PAD + 2 * (CELL + PAD)
    row_height = CELL + 2 * CAPTION + PAD
    sheet = Image.new("RGB", (width, PAD + row_height * max(1, len(rows))), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for index, row in enumerate(rows):
        top = PAD + index * row_height
        for column, data in enumerate((row.original, row.pixelated)):
            left = PAD + column * (CELL + PAD)
            thumb = thumbnail(data, blocky=column == 1)
            if thumb is None:
                draw.rectangle((left, top, left + CELL - 1, top + CELL - 1), outline=(190, 60, 60), width=2)
                draw.text((left + 10, top + CELL // 2 - 6), "not an image" if column == 0 else "rejected", fill=(150, 40, 40))
                continue
            sheet.paste(thumb, (left + (CELL - thumb.width) // 2, top + (CELL - thumb.height) // 2))
        draw.text((PAD, top + CELL + 4), row.label, fill=(20, 20, 20))
        if row.caption:
            draw.text((PAD, top + CELL + 4 + CAPTION), row.caption, fill=(90, 90, 90))
    return sheet


def thumbnail(data: bytes | None, blocky: bool = False) -> Image.Image | None:
    """The image scaled to fit a cell (upright, transparency shown on a checkerboard), or None if unreadable."""
    if not data:
        return None
    try:
        image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
        image.load()
    except Exception:
        return None
    image = image.convert("RGBA")
    scale = CELL / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    # Pixelated images must stay blocky when scaled: NEAREST keeps block edges sharp; photos get LANCZOS.
    blocky = blocky or scale > 1
    image = image.resize(size, Image.Resampling.NEAREST if blocky else Image.Resampling.LANCZOS)
    return on_checkerboard(image)


def on_checkerboard(image: Image.Image, step: int = 8, colours: tuple = CHECKER) -> Image.Image:
    """The image over a checkerboard of ``step``-pixel squares, so transparent parts are visible as such."""
    rgba = image.convert("RGBA")
    small = Image.new("RGB", (-(-rgba.width // step), -(-rgba.height // step)), colours[0])
    small.putdata([colours[(x + y) % 2] for y in range(small.height) for x in range(small.width)])
    board = small.resize((small.width * step, small.height * step), Image.Resampling.NEAREST).crop((0, 0, *rgba.size))
    board.paste(rgba, mask=rgba.getchannel("A"))
    return board

