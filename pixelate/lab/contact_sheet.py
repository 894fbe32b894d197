"""A contact sheet: originals beside their pixelated copies, as a single PNG image.

Laid out for a notebook: ``columns`` pairs (original | result) side by side, a header over each pair, and under
each pair its label, a caption and, when there is one, a note in a warning colour (a setting that erases the
subject, say). Text is drawn with Pillow's built-in scalable font where FreeType is available.
"""
from __future__ import annotations

import io
from typing import Iterable, NamedTuple

from PIL import Image, ImageDraw, ImageFont, ImageOps

CELL = 220  # the longest side of each thumbnail, in pixels
PAD = 12
GAP = 28  # between two pairs
BACKGROUND = (246, 246, 244)
CHECKER = ((224, 224, 224), (255, 255, 255))
INK, GREY, WARN, FRAME = (20, 20, 20), (90, 90, 90), (170, 60, 20), (190, 60, 60)
FONT_SIZE = 13
HEADERS = ("original", "result")


class Row(NamedTuple):
    """One image on the sheet: its label, the original bytes, the pixelated bytes (None if rejected), a caption
    (lines separated by newlines) and a note shown in a warning colour."""

    label: str
    original: bytes | None
    pixelated: bytes | None
    caption: str = ""
    note: str = ""


def font(size: int = FONT_SIZE):
    """Pillow's default font at ``size`` (scalable with FreeType; the small bitmap font otherwise)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # old Pillow, or no FreeType
        return ImageFont.load_default()


def contact_sheet(rows: Iterable[Row | tuple], columns: int = 1, cell: int = CELL) -> Image.Image:
    """Lay out each row as [original | pixelated] with its label, caption and note underneath, ``columns`` pairs
    across, a header ("original", "result") over each pair."""
    rows = [Row(*row) for row in rows]
    columns = max(1, min(columns, len(rows) or 1))
    text, small = font(FONT_SIZE), font(FONT_SIZE - 1)
    line = FONT_SIZE + 5
    pair_width = 2 * cell + PAD
    width = PAD + columns * pair_width + (columns - 1) * GAP + PAD
    scratch = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    blocks = [_text_block(scratch, row, pair_width, text, small) for row in rows]
    thumbs = [(thumbnail(row.original, cell=cell), thumbnail(row.pixelated, blocky=True, cell=cell)) for row in rows]
    header = line + 4
    # each row of pairs as tall as its tallest picture (a frame for a missing one) and its longest caption
    tops, heights = [], []
    for start in range(0, len(rows), columns):
        image_height = max((t.height if t else cell) for pair in thumbs[start:start + columns] for t in pair)
        lines = max(len(block) for block in blocks[start:start + columns])
        tops.append(image_height)
        heights.append(image_height + 6 + lines * line + PAD)
    sheet = Image.new("RGB", (width, PAD + header + sum(heights)), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for column in range(columns):
        left = PAD + column * (pair_width + GAP)
        for side, title in enumerate(HEADERS):
            draw.text((left + side * (cell + PAD) + cell // 2, PAD), title, fill=INK, font=text, anchor="mt")
    top = PAD + header
    for index, (block, pair) in enumerate(zip(blocks, thumbs)):
        grid_row, column = divmod(index, columns)
        if column == 0 and grid_row:
            top += heights[grid_row - 1]
        image_height = tops[grid_row]
        left = PAD + column * (pair_width + GAP)
        for side, thumb in enumerate(pair):
            x = left + side * (cell + PAD)
            if thumb is None:
                draw.rectangle((x, top, x + cell - 1, top + image_height - 1), outline=FRAME, width=2)
                draw.text((x + cell // 2, top + image_height // 2), "not an image" if side == 0 else "no result (rejected)",
                          fill=FRAME, font=text, anchor="mm")
                continue
            sheet.paste(thumb, (x + (cell - thumb.width) // 2, top))
        y = top + image_height + 6
        for words, colour, face in block:
            draw.text((left, y), words, fill=colour, font=face)
            y += line
    return sheet


def _text_block(draw, row: Row, width: int, text, small) -> list[tuple[str, tuple, object]]:
    """The lines under a pair: the label, the caption's lines, the note, each wrapped to ``width``."""
    lines = [(part, INK, text) for part in _wrap(draw, row.label, width, text)]
    for caption_line in row.caption.splitlines():
        lines += [(part, GREY, small) for part in _wrap(draw, caption_line, width, small)]
    if row.note:
        lines += [(part, WARN, small) for part in _wrap(draw, row.note, width, small)]
    return lines


def _wrap(draw, words: str, width: int, face) -> list[str]:
    out, current = [], ""
    for word in words.split(" "):
        candidate = f"{current} {word}".strip()
        if current and draw.textlength(candidate, font=face) > width:
            out.append(current)
            current = word
        else:
            current = candidate
    return out + ([current] if current else [])


def thumbnail(data: bytes | None, blocky: bool = False, cell: int = CELL) -> Image.Image | None:
    """The image scaled to fit a cell (upright, transparency shown on a checkerboard), or None if unreadable."""
    if not data:
        return None
    try:
        image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
        image.load()
    except Exception:
        return None
    image = image.convert("RGBA")
    scale = cell / max(image.size)
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


# --- what a caption says --------------------------------------------------------------------------------

#: fewer blocks than this across the short side, and a caption says what the setting wipes out
COARSE_BLOCKS = 16


def blocks_note(width: int, height: int, size: int) -> str:
    """A warning when ``size`` leaves fewer than ``COARSE_BLOCKS`` blocks across the image's short side: anything
    narrower than a block (a thin subject, a face far away) is gone; empty otherwise."""
    across = -(-min(width, height) // size)
    if across >= COARSE_BLOCKS:
        return ""
    way = "down" if height <= width else "across"
    return f"only {across} blocks {way} at {size} px: anything narrower than {size} px is gone"


def caption(record: dict | None, sent: dict[str, str] | None = None) -> tuple[str, str]:
    """(caption, note) for one upload from its status record (``None``: none came) and the options sent: the
    outcome, the options the service applied (block grid included) or the failure's reason."""
    record = record or {}
    state = record.get("state", "no status")
    if state != "done":
        return f"{state} · {record.get('reason') or 'no reason given'}", ""
    output = record.get("output") or {}
    options = record.get("options") or {}
    size = options.get("pixel_size") or (sent or {}).get("pixel-size")
    method = options.get("method") or (sent or {}).get("method") or "average"
    width, height = output.get("width"), output.get("height")
    if not (size and width and height):
        return f"{state} · {method}", ""
    size = int(size)
    # (plain "x": the built-in font has no multiplication sign)
    grid = f"{-(-width // size)}x{-(-height // size)} blocks"
    return f"{state} · {size} px, {method}\n{width}x{height} px, {grid}", blocks_note(width, height, size)
