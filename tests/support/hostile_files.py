"""Builders of hostile files, each cheap to store and costly to decode the naive way (the image tests refuse them
in the core, the service tests through the handler)."""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

SCREEN_1x1 = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
DISPOSE_TO_BACKGROUND = b"\x21\xf9\x04\x08\x0a\x00\x00\x00"


def one_pixel_frame() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (1, 1)).save(buffer, "GIF")
    data = buffer.getvalue()
    return data[data.index(b",\x00\x00\x00\x00") : -1]


def claimed_frame(x: int, y: int, width: int, height: int) -> bytes:
    """An image descriptor claiming width×height at (x, y), with a few bytes of LZW data."""
    return b"," + struct.pack("<HHHHB", x, y, width, height, 0) + bytes([2, 2, 0x4C, 0x01, 0x00])


def gif_with_second_frame(frame: bytes) -> bytes:
    return SCREEN_1x1 + DISPOSE_TO_BACKGROUND + one_pixel_frame() + DISPOSE_TO_BACKGROUND + frame + b";"


def heic_of_two_images() -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    red, blue = Image.new("RGB", (64, 48), (200, 0, 0)), Image.new("RGB", (64, 48), (0, 0, 200))
    buffer = io.BytesIO()
    red.save(buffer, "HEIF", save_all=True, append_images=[blue])
    return buffer.getvalue()


def tiff_of_tiny_pages(count: int) -> bytes:
    """``count`` 4×4 grey pages, all sharing one strip."""
    pixels = b"\x80" * 16
    first = 8 + len(pixels)
    tags = [(256, 4, 4), (257, 4, 4), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 8), (278, 4, 4), (279, 4, 16)]
    size = 2 + 12 * len(tags) + 4
    parts = [b"II*\x00" + struct.pack("<I", first) + pixels]
    for index in range(count):
        following = first + (index + 1) * size if index + 1 < count else 0
        entries = b"".join(struct.pack("<HHII", tag, kind, 1, value) for tag, kind, value in tags)
        parts.append(struct.pack("<H", len(tags)) + entries + struct.pack("<I", following))
    return b"".join(parts)


def tiled_tiff(side: int, tile: int) -> bytes:
    """A side×side 8-bit grey TIFF with one deflated tile of tile×tile pixels (all grey 128, up to 4096²)."""
    # One tile covers the image; a tile too large to be decoded needs no real data.
    payload = zlib.compress(b"\x80" * (tile * tile if tile <= 4096 else 16))
    tags = [
        (256, 4, side), (257, 4, side), (258, 3, 8), (259, 3, 8), (262, 3, 1),
        (322, 4, tile), (323, 4, tile), (324, 4, 8), (325, 4, len(payload)),
    ]
    entries = b"".join(struct.pack("<HHII", tag, kind, 1, value) for tag, kind, value in tags)
    return b"II*\x00" + struct.pack("<I", 8 + len(payload)) + payload + struct.pack("<H", len(tags)) + entries + b"\0" * 4
