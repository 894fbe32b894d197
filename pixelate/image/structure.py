"""Walks over a file's container structure (JPEG segments and scans, PNG chunks, GIF blocks, TIFF directories),
on the bytes.

Some files are cheap to store and ruinous to parse: a flood of segments, chunks, scans, sub-blocks or strips
costs seconds and hundreds of MB inside Pillow and libjpeg before any pixel limit applies. These walks read only
the structure, stop early, and run before the decoder sees the file.
"""
from __future__ import annotations

import re
import struct
from typing import Iterator

from pixelate.image.errors import PixelateError


def check_structure(data: bytes, fmt: str) -> None:
    """Refuse ``data`` if its container structure alone is too costly to read (checked before decoding). A GIF's
    walk, ``gif_canvas_size``, runs in ``guard.open_checked``, which also needs the canvas it finds."""
    if fmt == "JPEG":
        check_jpeg_scans(data)
    elif fmt == "PNG":
        check_png_chunks(data)
    elif fmt == "TIFF":
        check_tiff_strips(data)


#: Most scans a JPEG may have, whatever its size. libjpeg's progressive scripts use 6 (grey) to 18 (CMYK);
#: libjpeg runs repeated scans with only a warning.
MAX_JPEG_SCANS = 100
#: Most scans × 8×8 blocks of the image: each scan is a pass over every block of its components, so a flat
#: scan cap lets a big image cost seconds (a 103 KB 7000×7000 JPEG of 99 empty refinement scans: 3-12 s).
#: A 16 MP photo's 10 progressive scans are 2.5 million (a CMYK one's 18: 4.5 million); 7000×7000 at 20 scans
#: (the least allowed) took 0.8 s here, 2.7 s with regions (which decode up to three times).
MAX_JPEG_SCAN_BLOCKS = 10_000_000
#: Scans any JPEG may have, however large: more than any encoder's progressive script.
MIN_JPEG_SCANS_ALLOWED = 20
#: Most marker segments before the first scan. Pillow parses each in Python and keeps every APPn and COM
#: (5 million empty ones took 4.7 s and 700 MB); a camera JPEG has a few dozen.
MAX_JPEG_HEADER_SEGMENTS = 1000
#: Start-of-frame markers: every SOFn but DHT (C4), JPG (C8) and DAC (CC), which share the range.
_START_OF_FRAME = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
#: Sample precisions the JPEG standard defines beyond 8 bits (12 for DCT, up to 16 for lossless): a JPEG of
#: those is well formed, but Pillow's decoder reads 8-bit samples only.
_DEEP_PRECISIONS = frozenset({12, 16})
#: A marker inside entropy-coded data: 0xFF (after fill bytes) followed by neither a stuffed zero nor RSTn.
#: (a compiled search counts this two-byte marker ~3x faster than bytes.count, 0xFF being common in JPEG data)
_START_OF_SCAN = re.compile(rb"\xff\xda")
_MARKER_AFTER_SCAN = re.compile(rb"\xff+[^\x00\xd0-\xd7\xff]")


def check_jpeg_scans(data: bytes) -> None:
    """Refuse a JPEG whose structure alone costs seconds to read (a flood of header segments, or of scans for
    its size), or whose samples are deeper than the decoder reads."""
    if jpeg_header_segments(data, stop_after=MAX_JPEG_HEADER_SEGMENTS) > MAX_JPEG_HEADER_SEGMENTS:
        raise PixelateError(
            "too-large", f"The JPEG has more than {MAX_JPEG_HEADER_SEGMENTS} segments before its image data: too costly to read."
        )
    frame = jpeg_frame(data)
    if frame is not None and frame[0] in _DEEP_PRECISIONS:
        raise PixelateError(
            "unsupported-format", f"The JPEG has {frame[0]}-bit samples; only 8-bit JPEGs are supported."
        )
    allowed = jpeg_scans_allowed(frame)
    if len(_START_OF_SCAN.findall(data)) <= allowed:  # every scan starts so: a cheap upper bound
        return
    if jpeg_scan_count(data, stop_after=allowed) <= allowed:
        return
    if allowed == MAX_JPEG_SCANS:
        raise PixelateError(
            "too-large", f"The JPEG has more than {MAX_JPEG_SCANS} scans (a progressive JPEG has under 20): too costly to decode."
        )
    raise PixelateError(
        "too-large",
        f"The JPEG has more than {allowed} scans for its {frame[2]}×{frame[1]} pixels (each scan is a pass over the "
        "whole image; a progressive JPEG has under 20): too costly to decode.",
    )


def jpeg_scans_allowed(frame: tuple[int, int, int] | None) -> int:
    """Most scans a JPEG of this frame header (precision, height, width) may have: fewer the larger it is."""
    if frame is None:
        return MAX_JPEG_SCANS
    blocks = -(-frame[1] // 8) * -(-frame[2] // 8)
    return min(MAX_JPEG_SCANS, max(MIN_JPEG_SCANS_ALLOWED, MAX_JPEG_SCAN_BLOCKS // max(blocks, 1)))


def jpeg_header_segments(data: bytes, stop_after: int | None = None) -> int:
    """Marker segments between the start of image and the first scan (counting stops past ``stop_after``)."""
    segments = 0
    for _ in _jpeg_header_markers(data):
        segments += 1
        if stop_after is not None and segments > stop_after:
            break
    return segments


def jpeg_frame(data: bytes) -> tuple[int, int, int] | None:
    """The first frame header's sample precision, height and width (None without one before the first scan).

    Called after the header segments were counted: the walk is bounded.
    """
    for pos, marker in _jpeg_header_markers(data):
        if marker in _START_OF_FRAME:
            return struct.unpack_from(">BHH", data, pos + 4) if pos + 9 <= len(data) else None
    return None


def _jpeg_header_markers(data: bytes) -> Iterator[tuple[int, int]]:
    """(position, marker) of each segment before the first scan, walked as Pillow does."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            pos = data.find(b"\xff", pos)  # stray bytes: Pillow skips them to the next 0xFF
            if pos < 0:
                return
            continue
        marker = data[pos + 1]
        if marker in (0x00, 0xFF):
            pos += 1
            continue
        if marker == 0xDA:
            return
        yield pos, marker
        pos += 2 if 0xD0 <= marker <= 0xD9 or marker == 0x01 else 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")


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


#: Sub-blocks a GIF may hold beyond one per 128 bytes of the file. Pillow reads each in Python (skipping a
#: frame's data while seeking, and keeping every sub-block of a comment: a 25 MB comment of 1-byte sub-blocks
#: took 1.1 GB); encoders fill them (255 bytes), so a real GIF has one per ~255 bytes and a few per frame.
#: (Each frame brings a few more: a flood of tiny frames is the frame limit's to refuse, as too many frames.)
MAX_GIF_SUB_BLOCKS = 100_000
GIF_BYTES_PER_SUB_BLOCK = 128
GIF_SUB_BLOCKS_PER_FRAME = 4  # its graphic control extension, its data's last short sub-block, and spare
#: Stray bytes a GIF may have between its blocks. Pillow steps over them one read at a time (10 MB: 2 s);
#: a sloppy encoder leaves a few.
MAX_GIF_STRAY_BYTES = 65_536
_GIF_BLOCK_START = re.compile(rb"[\x21\x2c\x3b]")  # extension, image descriptor, trailer


def gif_canvas_size(data: bytes) -> tuple[int, int]:
    """The canvas Pillow grows a GIF to: its logical screen, widened by every frame that reaches past it.

    Pillow grows the canvas, and fills the frame's disposal area, while *seeking* to a frame, before the
    core sees its size: the frame descriptors are read here first, walking the blocks as Pillow does. A GIF
    of far more sub-blocks than its size needs, or of more stray bytes than ``MAX_GIF_STRAY_BYTES``, is
    refused as ``corrupt`` before the walk costs what Pillow's would.
    """
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    sub_blocks = MAX_GIF_SUB_BLOCKS + len(data) // GIF_BYTES_PER_SUB_BLOCK  # what may still come
    stray = 0
    while pos < len(data) and data[pos] != 0x3B:  # up to the trailer
        if data[pos] == 0x21:  # extension: introducer, label, sub-blocks
            pos, sub_blocks = _after_sub_blocks(data, pos + 2, sub_blocks)
        elif data[pos] == 0x2C and pos + 10 <= len(data):  # image descriptor
            x, y, w, h, flags = struct.unpack_from("<HHHHB", data, pos + 1)
            width, height = max(width, x + w), max(height, y + h)
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            sub_blocks += GIF_SUB_BLOCKS_PER_FRAME
            pos, sub_blocks = _after_sub_blocks(data, pos + 1, sub_blocks)  # LZW minimum code size, then the data
        else:  # stray bytes: Pillow skips them too, one read at a time
            found = _GIF_BLOCK_START.search(data, pos + 1)
            after = found.start() if found else len(data)
            stray += after - pos
            if stray > MAX_GIF_STRAY_BYTES:
                raise PixelateError(
                    "corrupt",
                    f"The GIF has more than {MAX_GIF_STRAY_BYTES:,} stray bytes between its blocks: it is damaged.",
                )
            pos = after
    return width, height


def _after_sub_blocks(data: bytes, pos: int, allowed: int) -> tuple[int, int]:
    """The position after a run of sub-blocks, and how many more the file may have."""
    while pos < len(data) and data[pos]:
        pos += data[pos] + 1
        allowed -= 1
        if allowed < 0:
            raise PixelateError(
                "corrupt",
                f"The GIF is cut into far more sub-blocks than its size needs (over {MAX_GIF_SUB_BLOCKS:,} more than "
                "one per 128 bytes and a few per frame; an encoder fills them, 255 bytes each): it is damaged.",
            )
    return pos + 1, allowed


#: Pages of a TIFF walked. Pillow reads no page past the frame limit (500 by default): the guard counts pages
#: one seek at a time up to one past it. (A frame limit raised past this would leave later pages unwalked.)
MAX_TIFF_PAGES = 1000
#: Most tags in one directory. Pillow reads each in Python; the TIFF registry names a few hundred tags and a
#: camera's (DNG) main directory uses about a hundred.
MAX_TIFF_TAGS = 1000
#: Most tags over all the pages walked.
MAX_TIFF_TAGS_IN_ALL = 100_000
#: Strips or tiles a page may declare beyond what its size needs (a writer's rounding).
TIFF_EXTRA_STRIPS = 16
#: Most strips or tiles over all the pages walked. Pillow makes a Python tile of each uncompressed strip, and
#: libtiff reads the arrays (100,000 took 0.5 s): a 50 MP photo in libtiff's 8 KB strips has under 20,000.
MAX_TIFF_STRIPS = 250_000
#: Bytes of each TIFF field type Pillow reads (it skips a tag of any other type), and the number types read here.
_TIFF_TYPE_SIZES = {
    1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8
}
_TIFF_NUMBER_FORMATS = {1: "B", 3: "H", 4: "L", 16: "Q"}
#: The tags the walk reads: size, samples, rows per strip, planar configuration, strips, tiles.
_TIFF_LAYOUT_TAGS = frozenset({256, 257, 273, 277, 278, 279, 284, 322, 323, 324, 325})
_STRIP_TAGS, _TILE_TAGS = (273, 279), (324, 325)


def check_tiff_strips(data: bytes) -> None:
    """Refuse a TIFF whose directories declare more tags, strips or tiles than a page of its size needs.

    Pillow builds a Python tile per strip when it opens a page: a 110-byte 1×2 page with 8 million strip
    offsets (8 MB of one-byte entries) took 45 s and 1.9 GB in ``Image.open``.
    """
    strips = 0
    for number, page in enumerate(tiff_pages(data), 1):
        # both arrays of each: Pillow makes its tiles from the offsets, libtiff reads the byte counts too
        layouts = ((_STRIP_TAGS, "strips", strips_needed(page)), (_TILE_TAGS, "tiles", tiles_needed(page)))
        for tags, kind, needed in layouts:
            declared = max(page.count(tag) for tag in tags)
            if declared > needed + TIFF_EXTRA_STRIPS:
                raise PixelateError(
                    "corrupt",
                    f"The TIFF declares {declared:,} {kind} on page {number}, more than its size "
                    f"({page.number(256)}×{page.number(257)}) needs ({needed:,}): it is damaged.",
                )
            strips += declared
        if strips > MAX_TIFF_STRIPS:
            raise PixelateError(
                "too-large", f"The TIFF has more than {MAX_TIFF_STRIPS:,} strips or tiles: too costly to read."
            )


def strips_needed(page: "TiffPage") -> int:
    """Strips a page of its height, rows per strip and planes needs."""
    height, rows = page.number(257) or 0, page.number(278)
    rows = height if rows is None else max(1, rows)  # absent: one strip of every row; 0 read as 1 (lenient)
    return -(-height // min(rows, height)) * _planes(page) if height else 0


def tiles_needed(page: "TiffPage") -> int:
    """Tiles a page of its size, tile size and planes needs (a missing tile size counts as 1×1: the most)."""
    across = -(-(page.number(256) or 0) // max(1, page.number(322) or 0))
    down = -(-(page.number(257) or 0) // max(1, page.number(323) or 0))
    return across * down * _planes(page)


def _planes(page: "TiffPage") -> int:
    """Separate planes of strips or tiles: one per sample when the samples are stored apart."""
    return max(1, page.number(277) or 1) if page.number(284) == 2 else 1


class TiffPage:
    """The layout tags of one TIFF directory: every entry of each, (type, count, value field), in file order.

    A tag may be listed more than once. Pillow keeps the first entry it can read (one that is empty, or whose
    data lies outside the file, is skipped for the next), so the size tags are read the same way, and a count
    is the largest of its entries': an empty StripOffsets ahead of a flood of them must not hide the flood."""

    def __init__(self, data: bytes, order: str, big: bool, entries: dict[int, list[tuple[int, int, bytes]]]):
        self.data, self.order, self.big, self.entries = data, order, big, entries

    def count(self, tag: int) -> int:
        return max((count for _kind, count, _field in self.entries.get(tag, ())), default=0)

    def number(self, tag: int) -> int | None:
        """The first value of a number tag's first readable entry (None when there is none)."""
        for entry in self.entries.get(tag, ()):
            value = self._first_value(*entry)
            if value is not None:
                return value
        return None

    def _first_value(self, kind: int, count: int, field: bytes) -> int | None:
        if kind not in _TIFF_NUMBER_FORMATS or not count:
            return None
        fmt = self.order + _TIFF_NUMBER_FORMATS[kind]
        if count * _TIFF_TYPE_SIZES[kind] <= len(field):
            return struct.unpack_from(fmt, field)[0]
        offset = struct.unpack_from(self.order + ("Q" if self.big else "L"), field)[0]
        if offset + struct.calcsize(fmt) > len(self.data):
            return None
        return struct.unpack_from(fmt, self.data, offset)[0]


def tiff_pages(data: bytes) -> Iterator[TiffPage]:
    """Each directory (page) of a TIFF or BigTIFF, following the next-directory offsets as Pillow does: up to
    ``MAX_TIFF_PAGES``, stopping at the end, an offset out of the file, or one already seen (a loop)."""
    if len(data) < 16:
        return
    order = "<" if data[:2] == b"II" else ">"
    big = struct.unpack_from(order + "H", data, 2)[0] == 43
    # the entry count, an entry (tag, type, count, value or offset), the next directory's offset
    head, entry, link = (order + f for f in (("Q", "HHQ8s", "Q") if big else ("H", "HHL4s", "L")))
    offset = struct.unpack_from(link, data, 8 if big else 4)[0]
    seen, tags_in_all = set(), 0
    while offset and offset not in seen and len(seen) < MAX_TIFF_PAGES and offset + struct.calcsize(head) <= len(data):
        seen.add(offset)
        count = struct.unpack_from(head, data, offset)[0]
        tags_in_all += count
        if count > MAX_TIFF_TAGS:
            raise PixelateError(
                "corrupt", f"A directory of the TIFF lists {count:,} tags; a real one has under {MAX_TIFF_TAGS}."
            )
        if tags_in_all > MAX_TIFF_TAGS_IN_ALL:
            raise PixelateError(
                "too-large", f"The TIFF's pages list more than {MAX_TIFF_TAGS_IN_ALL:,} tags: too costly to read."
            )
        start = offset + struct.calcsize(head)
        end = start + count * struct.calcsize(entry)
        if end + struct.calcsize(link) > len(data):
            return  # a directory cut short: Pillow reports it
        entries: dict[int, list[tuple[int, int, bytes]]] = {}
        for tag, kind, number, field in struct.iter_unpack(entry, data[start:end]):
            if tag in _TIFF_LAYOUT_TAGS and kind in _TIFF_TYPE_SIZES:
                entries.setdefault(tag, []).append((kind, number, field))
        yield TiffPage(data, order, big, entries)
        offset = struct.unpack_from(link, data, end)[0]
