"""Walks over a file's container structure (JPEG segments and scans, PNG chunks, GIF blocks), on the bytes.

Some files are cheap to store and ruinous to parse: a flood of segments, chunks or scans costs seconds and
hundreds of MB inside Pillow and libjpeg before any pixel limit applies. These walks read only the structure,
stop early, and run before the decoder sees the file.
"""
from __future__ import annotations

import re
import struct

from pixelate.image.errors import PixelateError


def check_structure(data: bytes, fmt: str) -> None:
    """Refuse ``data`` if its container structure alone is too costly to read (checked before decoding)."""
    if fmt == "JPEG":
        check_jpeg_scans(data)
    elif fmt == "PNG":
        check_png_chunks(data)


#: Most scans a JPEG may have. libjpeg's progressive scripts use 6 (grey) to 18 (CMYK); each scan costs a
#: pass over every block of the image, and libjpeg runs repeated scans with only a warning.
MAX_JPEG_SCANS = 100
#: Most marker segments before the first scan. Pillow parses each in Python and keeps every APPn and COM
#: (5 million empty ones took 4.7 s and 700 MB); a camera JPEG has a few dozen.
MAX_JPEG_HEADER_SEGMENTS = 1000
#: A marker inside entropy-coded data: 0xFF (after fill bytes) followed by neither a stuffed zero nor RSTn.
#: (a compiled search counts this two-byte marker ~3x faster than bytes.count, 0xFF being common in JPEG data)
_START_OF_SCAN = re.compile(rb"\xff\xda")
_MARKER_AFTER_SCAN = re.compile(rb"\xff+[^\x00\xd0-\xd7\xff]")


def check_jpeg_scans(data: bytes) -> None:
    """Refuse a JPEG whose structure alone costs seconds to read: a flood of header segments, or of scans."""
    if jpeg_header_segments(data, stop_after=MAX_JPEG_HEADER_SEGMENTS) > MAX_JPEG_HEADER_SEGMENTS:
        raise PixelateError(
            "too-large", f"The JPEG has more than {MAX_JPEG_HEADER_SEGMENTS} segments before its image data: too costly to read."
        )
    if len(_START_OF_SCAN.findall(data)) <= MAX_JPEG_SCANS:  # every scan starts so: a cheap upper bound
        return
    scans = jpeg_scan_count(data, stop_after=MAX_JPEG_SCANS)
    if scans > MAX_JPEG_SCANS:
        raise PixelateError(
            "too-large", f"The JPEG has more than {MAX_JPEG_SCANS} scans (a progressive JPEG has under 20): too costly to decode."
        )


def jpeg_header_segments(data: bytes, stop_after: int | None = None) -> int:
    """Marker segments between the start of image and the first scan (counting stops past ``stop_after``)."""
    pos, segments = 2, 0
    while pos + 4 <= len(data) and (stop_after is None or segments <= stop_after):
        if data[pos] != 0xFF:
            pos = data.find(b"\xff", pos)  # stray bytes: Pillow skips them to the next 0xFF
            if pos < 0:
                break
            continue
        marker = data[pos + 1]
        if marker in (0x00, 0xFF):
            pos += 1
            continue
        if marker == 0xDA:
            break
        segments += 1
        pos += 2 if 0xD0 <= marker <= 0xD9 or marker == 0x01 else 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return segments


def jpeg_scan_count(data: bytes, stop_after: int | None = None) -> int:
    """Start-of-scan segments of the first picture in ``data``, walking its segments as libjpeg does.

    Counting stops at its end-of-image (an MPO's other pictures are not decoded) or past ``stop_after``.
    """
    pos, scans = 2, 0
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            pos = data.find(b"\xff", pos)  # libjpeg skips stray bytes to the next marker
            if pos < 0:
                break
            continue
        marker = data[pos + 1]
        if marker == 0xFF or 0xD0 <= marker <= 0xD8 or marker == 0x01:
            pos += 1 if marker == 0xFF else 2  # fill byte, or a marker without a length
            continue
        if marker == 0xD9:
            break
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:
            scans += 1
            if stop_after is not None and scans > stop_after:
                break
            after = _MARKER_AFTER_SCAN.search(data, pos)
            if after is None:
                break
            pos = after.end() - 2
    return scans


#: Most chunks a PNG may have. Pillow parses each in Python (4 million empty ones took 7.9 s and 520 MB);
#: even 50 MB of image data in 1 KB IDAT chunks is 50,000.
MAX_PNG_CHUNKS = 100_000


def check_png_chunks(data: bytes) -> None:
    """Refuse a PNG whose chunks alone cost seconds to parse."""
    if png_chunk_count(data, stop_after=MAX_PNG_CHUNKS) > MAX_PNG_CHUNKS:
        raise PixelateError("too-large", f"The PNG has more than {MAX_PNG_CHUNKS:,} chunks: too costly to read.")


def png_chunk_count(data: bytes, stop_after: int | None = None) -> int:
    """Chunks of a PNG up to its IEND (counting stops past ``stop_after``)."""
    pos, chunks = 8, 0
    while pos + 8 <= len(data) and (stop_after is None or chunks <= stop_after):
        chunks += 1
        if data[pos + 4 : pos + 8] == b"IEND":
            break
        pos += 12 + int.from_bytes(data[pos : pos + 4], "big")
    return chunks


def gif_canvas_size(data: bytes) -> tuple[int, int]:
    """The canvas Pillow grows a GIF to: its logical screen, widened by every frame that reaches past it.

    Pillow grows the canvas, and fills the frame's disposal area, while *seeking* to a frame, before the
    core sees its size: the frame descriptors are read here first, walking the blocks as Pillow does.
    """
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    while pos < len(data) and data[pos] != 0x3B:  # up to the trailer
        if data[pos] == 0x21:  # extension: introducer, label, sub-blocks
            pos = _after_sub_blocks(data, pos + 2)
        elif data[pos] == 0x2C and pos + 10 <= len(data):  # image descriptor
            x, y, w, h, flags = struct.unpack_from("<HHHHB", data, pos + 1)
            width, height = max(width, x + w), max(height, y + h)
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            pos = _after_sub_blocks(data, pos + 1)  # LZW minimum code size, then the data
        else:
            pos += 1  # Pillow skips stray bytes too
    return width, height


def _after_sub_blocks(data: bytes, pos: int) -> int:
    while pos < len(data) and data[pos]:
        pos += data[pos] + 1
    return pos + 1
