"""Pixelate boxes of an upright JPEG in the DCT domain: no decode and re-encode, no generation loss outside them.

Every 8×8 block's DC coefficient is (a scaled) mean of its pixels. So a box is pixelated by giving each cell of
its blocks the mean of the cell's DCs and zero AC coefficients, while every other block keeps its coefficients
exactly: outside the boxes the decoded pixels are the input's own (up to one pixel of chroma upsampling at a
box's edge with 4:2:0 or 4:2:2, where the decoder blends a pixel with its neighbour block's chroma).

Geometry (each box's cells are anchored at its own top-left corner, as on every path):

- block ``k`` a multiple of 8: a region is grown outward to whole units of every component's block footprint
  (8 px for 4:4:4 and grey, 16 px for 4:2:0), so that luma and chroma change over exactly the same pixels. A
  face (``luma_edges``) is grown only to whole 8×8 blocks of the luma (8 px, the smallest area a DCT-domain edit
  can change), and a subsampled component (4:2:0 chroma: a block covers 16×16 px) is changed only in its blocks
  wholly inside the grown box; its blocks that the box only partly covers keep their coefficients, because
  changing one changes all its 16×16 pixels. So along a face box's edge a band of at most 8 px keeps its colour
  at half resolution while its luma is pixelated: at the ×1.15 enlargement that band is mostly margin, and it
  halves the area changed around faces in ~500 px JPEG photos (docs/faces.md). A drawn region keeps the whole
  units: a small one (a name, a plate) could otherwise keep most of its colour. In the blocks changed, from the
  top-left of each component's first one, cells of ``lcm(k, footprint)`` pixels get DC = round(mean DC),
  AC = 0. At k = 8 on 4:2:0 each chroma block keeps its own DC (the cell's chroma is then the 16 px mean).
- other ``k`` (10, 12 …): the k-cells from the box's corner are the footprint (the box itself); only the 8×8
  blocks that touch it are transformed back to pixels (numpy), the cells set to their mean, and the blocks
  transformed and quantised again with the file's own tables. Untouched blocks keep their coefficients; the
  rest of a touched block is re-quantised (within one MCU of the box). Without numpy this returns ``None``.

Output: a baseline JPEG with the input's quantisation tables, sampling, colour space and restart interval, and
its ICC profile; EXIF (GPS above all), XMP, comments and every other marker are dropped. ``None`` whenever this
does not apply: not baseline/extended/progressive Huffman 8-bit, odd sampling, EXIF orientation other than 1
(the pipeline re-encodes those), no libjpeg, damage. A leaf: imports only ``libjpeg`` beside it.
"""
from __future__ import annotations

import math
import struct
from array import array
from functools import reduce
from operator import add
from typing import NamedTuple, Sequence

from pixelate.image.fast import libjpeg

#: a rectangle in pixels: x0, y0, x1, y1 (x1 and y1 excluded)
Box = tuple[int, int, int, int]

_SOF_SUPPORTED = {0xC0, 0xC1, 0xC2}  # baseline, extended sequential, progressive (Huffman)
_SOF_ANY = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
#: _ZIGZAG[i] = natural index of the i-th coefficient in zig-zag order
_ZIGZAG = (
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14,
    21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60,
    61, 54, 47, 55, 62, 63,
)


class Header(NamedTuple):
    """What matters here of a JPEG's markers before its first scan."""

    width: int
    height: int
    sof: int
    sampling: tuple[tuple[int, int], ...]  # (h, v) per component
    table_ids: tuple[int, ...]  # quantisation table of each component
    qtables: dict  # table id -> 64 values, natural order
    icc_segments: tuple[bytes, ...]  # whole APP2 ICC_PROFILE segments, in file order
    restart_interval: int


class Cells(NamedTuple):
    """One component's share of one box: blocks [r0, r1) × [c0, c1), in cells of cy × cx blocks (0: pixel mode)."""

    r0: int
    r1: int
    c0: int
    c1: int
    cy: int
    cx: int


class Plan(NamedTuple):
    box: Box  # the snapped footprint, clipped to the image
    block: int
    cells: tuple[Cells, ...]


def pixelate_jpeg_regions(data: bytes, boxes: Sequence[tuple[Box, int, bool]]) -> tuple[bytes, list[Box]] | None:
    """The JPEG ``data`` with each (box, block, luma_edges) pixelated in the DCT domain, and the boxes actually
    pixelated (snapped); ``None`` when this path does not apply (see the module docstring). ``luma_edges``: grow
    the box only to whole luma blocks (a face: see :func:`plan`). Boxes are applied in the order given: where
    they overlap, the later one wins."""
    header = parse_header(data)
    if header is None or header.sof not in _SOF_SUPPORTED or len(header.sampling) not in (1, 3, 4):
        return None
    hmax, vmax = max(h for h, _ in header.sampling), max(v for _, v in header.sampling)
    if any(h < 1 or v < 1 or hmax % h or vmax % v for h, v in header.sampling):
        return None
    if any(block % 8 for _, block, _ in boxes) and not _numpy_available():
        return None
    if any(header.qtables.get(table) is None for table in header.table_ids):
        return None
    plans = [plan(header, box, block, luma_edges) for box, block, luma_edges in boxes]
    expected = (header.width, header.height, tuple(
        libjpeg.Component(h, v, *_blocks(header, index)) for index, (h, v) in enumerate(header.sampling)))

    def edit(index: int, rows: libjpeg.Rows) -> None:
        footprint = _footprint(header, index)
        for region in plans:
            cells = region.cells[index]
            if cells.r1 <= cells.r0 or cells.c1 <= cells.c0:
                continue
            views = rows(cells.r0, cells.r1)
            if region.block % 8 == 0:
                flatten_cells(views, cells)
            else:
                _pixelate_in_pixels(views, cells, header.qtables[header.table_ids[index]], footprint, region)

    jpeg = libjpeg.transcode(data, expected, edit, header.restart_interval)
    if jpeg is None:
        return None
    return keep_only_icc(jpeg, header.icc_segments), [region.box for region in plans]


# ------------------------------------------------------------------------------------------------ the header


def parse_header(data: bytes) -> Header | None:
    """The frame header, quantisation tables, ICC segments and restart interval, or None if not a plain JPEG."""
    if data[:2] != b"\xff\xd8":
        return None
    pos, end = 2, len(data)
    frame = None
    qtables: dict[int, tuple] = {}
    icc: list[bytes] = []
    restart = 0
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # a fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segment = data[pos + 4 : pos + 2 + length]
        if length < 2 or len(segment) != length - 2:
            return None
        if marker == 0xDA:  # the first scan: the header is over
            break
        if marker in _SOF_ANY:
            if frame is not None or len(segment) < 6:
                return None
            precision, height, width, count = struct.unpack(">BHHB", segment[:6])
            if precision != 8 or len(segment) < 6 + 3 * count:
                return None
            components = [segment[6 + 3 * i : 9 + 3 * i] for i in range(count)]
            frame = (marker, width, height, tuple((c[1] >> 4, c[1] & 15) for c in components), tuple(c[2] for c in components))
        elif marker == 0xDB:
            qtables.update(_quantisation_tables(segment))
        elif marker == 0xDD and len(segment) >= 2:
            (restart,) = struct.unpack(">H", segment[:2])
        elif marker == 0xE2 and segment[:12] == b"ICC_PROFILE\x00":
            icc.append(data[pos : pos + 2 + length])
        pos += 2 + length
    if frame is None or not frame[1] or not frame[2] or not frame[3]:
        return None
    sof, width, height, sampling, table_ids = frame
    return Header(width, height, sof, sampling, table_ids, qtables, tuple(icc), restart)


def _quantisation_tables(segment: bytes) -> dict[int, tuple]:
    tables, pos = {}, 0
    while pos < len(segment):
        precision, table = segment[pos] >> 4, segment[pos] & 15
        size = 128 if precision else 64
        values = struct.unpack(">64H" if precision else "64B", segment[pos + 1 : pos + 1 + size])
        natural = [0] * 64
        for zigzag, index in enumerate(_ZIGZAG):
            natural[index] = values[zigzag]
        tables[table] = tuple(natural)
        pos += 1 + size
    return tables


def without_metadata(data: bytes) -> bytes | None:
    """The JPEG as it is, its EXIF, XMP, comments and other APPn dropped and its ICC profile kept (what a JPEG with
    nothing to pixelate becomes); ``None`` when it is not a plain JPEG."""
    header = parse_header(data)
    if header is None or header.sof not in _SOF_SUPPORTED:
        return None
    return keep_only_icc(data, header.icc_segments)


def keep_only_icc(jpeg: bytes, icc_segments: Sequence[bytes]) -> bytes:
    """``jpeg`` with every APPn and COM dropped, except its first JFIF and Adobe markers (cut to their fields:
    ``_colour_marker``), and the input's ICC segments put back after them; it ends at its EOI marker.

    Between the scans of a progressive JPEG only the tables and the scans are kept, and whatever follows the EOI
    is dropped: a phone's motion photo appends a video there, with metadata of its own."""
    out, pos, inserted = [jpeg[:2]], 2, not icc_segments
    while True:
        marker = jpeg[pos + 1]
        if marker == 0xFF:  # a fill byte before a marker
            pos += 1
            continue
        if not inserted and marker not in (0xE0, 0xEE):
            out.extend(icc_segments)
            inserted = True
        if marker == 0xDA:
            out.extend(_scans(jpeg, pos))
            return b"".join(out)
        (length,) = struct.unpack(">H", jpeg[pos + 2 : pos + 4])
        if marker in (0xE0, 0xEE):
            out.extend(_colour_marker(marker, jpeg[pos + 4 : pos + 2 + length], out))
        elif not (0xE0 <= marker <= 0xEF or marker == 0xFE):
            out.append(jpeg[pos : pos + 2 + length])
        pos += 2 + length


#: a JFIF APP0's fields up to its thumbnail's size ("JFIF\0", version, units, densities) and an Adobe APP14's
#: ("Adobe", version, two flag words, the colour transform): all a decoder reads of them
_JFIF_FIELDS, _ADOBE_FIELDS = 12, 12


def _colour_marker(marker: int, payload: bytes, kept: list[bytes]) -> list[bytes]:
    """The JFIF or Adobe marker, once, cut to the fields a decoder reads, or nothing.

    A JFIF APP0 may carry a thumbnail, and a JFXX APP0 is one: a picture of the photo as it was before it was
    edited (an editor that blacked out a name may keep the old one). libjpeg writes neither; an input passed
    through untouched (faces asked, none found) may have both. The Adobe marker's transform says how the colours
    are coded, so it stays; anything past its fields goes."""
    if marker == 0xE0 and payload[:5] == b"JFIF\x00" and len(payload) >= _JFIF_FIELDS:
        fields = payload[:_JFIF_FIELDS] + b"\x00\x00"  # no thumbnail
    elif marker == 0xEE and payload[:5] == b"Adobe" and len(payload) >= _ADOBE_FIELDS:
        fields = payload[:_ADOBE_FIELDS]
    else:
        return []
    segment = bytes((0xFF, marker)) + struct.pack(">H", len(fields) + 2) + fields
    return [] if any(part[:2] == segment[:2] for part in kept) else [segment]


def _scans(jpeg: bytes, pos: int) -> list[bytes]:
    """The scans from the first SOS at ``pos`` to the EOI, with the tables between them (DHT, DQT, DRI) and no
    APPn or COM; an EOI is added when the file ends without one (a truncated file the decoder accepted)."""
    out: list[bytes] = []
    while pos + 4 <= len(jpeg):
        if jpeg[pos] != 0xFF:  # stray bytes before a marker: libjpeg skips them with a warning, so does this
            pos = jpeg.find(b"\xff", pos)
            if pos == -1:
                break
            continue
        marker = jpeg[pos + 1]
        if marker == 0xD9:
            break
        if marker == 0xFF:  # fill bytes before a marker
            pos += 1
            continue
        (length,) = struct.unpack(">H", jpeg[pos + 2 : pos + 4])
        end = pos + 2 + length
        if marker == 0xDA:  # the entropy-coded data runs to the next marker that is not a stuffed 0 or an RSTn
            while (end := jpeg.find(b"\xff", end)) != -1 and end + 1 < len(jpeg) and (
                    jpeg[end + 1] == 0 or 0xD0 <= jpeg[end + 1] <= 0xD7):
                end += 2
            end = len(jpeg) if end == -1 or end + 1 >= len(jpeg) else end
        if not (0xE0 <= marker <= 0xEF or marker == 0xFE):
            out.append(jpeg[pos:end])
        pos = end
    out.append(b"\xff\xd9")
    return out


# ---------------------------------------------------------------------------------------------- the geometry


def _footprint(header: Header, index: int) -> tuple[int, int]:
    """Pixels covered by one 8×8 block of component ``index`` (across, down)."""
    h, v = header.sampling[index]
    hmax, vmax = max(s[0] for s in header.sampling), max(s[1] for s in header.sampling)
    return 8 * hmax // h, 8 * vmax // v


def _blocks(header: Header, index: int) -> tuple[int, int]:
    """(width, height) of component ``index`` in blocks, as libjpeg computes them."""
    h, v = header.sampling[index]
    hmax, vmax = max(s[0] for s in header.sampling), max(s[1] for s in header.sampling)
    return -(-(-(-header.width * h // hmax)) // 8), -(-(-(-header.height * v // vmax)) // 8)


def _lcm(*values: int) -> int:
    return reduce(lambda a, b: a * b // math.gcd(a, b), values)


def plan(header: Header, box: Box, block: int, luma_edges: bool = False) -> Plan:
    """The snapped footprint of ``box`` and, per component, the blocks and cells to change (see the module docstring).

    ``luma_edges``: grow the box only to whole blocks of the luma (a grey or YCbCr file's component 0), leaving
    the chroma blocks it only partly covers as they are; otherwise to whole blocks of every component."""
    footprints = [_footprint(header, index) for index in range(len(header.sampling))]
    if block % 8:  # the box itself: only its touched blocks are re-quantised
        unit_x = unit_y = 1
    elif luma_edges and len(footprints) in (1, 3):
        # The luma's blocks (8 px, or more where a chroma component is sampled finer than it: every finer block
        # then lies wholly inside). Four components (CMYK, YCCK) have no chroma to spare: every one carries detail.
        unit_x, unit_y = footprints[0]
    else:  # whole blocks of every component (16 px on 4:2:0)
        unit_x, unit_y = _lcm(*(f[0] for f in footprints)), _lcm(*(f[1] for f in footprints))
    x0, y0 = box[0] // unit_x * unit_x, box[1] // unit_y * unit_y
    x1 = min(-(-box[2] // unit_x) * unit_x, header.width)
    y1 = min(-(-box[3] // unit_y) * unit_y, header.height)
    cells = []
    for index, (fx, fy) in enumerate(footprints):
        across, down = _blocks(header, index)
        if block % 8 == 0:
            # Blocks wholly inside the footprint (a block past the image's edge counts from its visible part): a
            # coarser component's block (4:2:0 chroma, 16 px) that the footprint only partly covers keeps its
            # coefficients, so that no pixel outside the footprint changes.
            r0, c0 = -(-y0 // fy), -(-x0 // fx)
            r1 = down if y1 >= header.height else y1 // fy
            c1 = across if x1 >= header.width else x1 // fx
            cells.append(Cells(r0, max(r0, r1), c0, max(c0, c1), _lcm(block, fy) // fy, _lcm(block, fx) // fx))
        else:
            cells.append(Cells(y0 // fy, min(-(-y1 // fy), down), x0 // fx, min(-(-x1 // fx), across), 0, 0))
    return Plan((x0, y0, x1, y1), block, tuple(cells))


# ------------------------------------------------------------------------------------------------- the edits


def flatten_cells(views: Sequence[memoryview], cells: Cells) -> None:
    """In place: every cy×cx group of blocks in columns [c0, c1) of the rows ``views`` gets DC = round(mean DC)
    (half to even) and AC = 0. Groups start at (views[0], c0); the last ones may be cut. No numpy: per row, one
    strided slice reads the DCs, one slice assignment zeroes the blocks, one strided assignment writes the DCs."""
    count = cells.c1 - cells.c0
    zeros = memoryview(bytes(count * 128)).cast("h")
    low, high = cells.c0 * 64, cells.c1 * 64
    starts = range(0, count, cells.cx)
    for first in range(0, len(views), cells.cy):
        group = views[first : first + cells.cy]
        sums = None
        for view in group:
            dcs = view[low:high:64].tolist()
            sums = dcs if sums is None else list(map(add, sums, dcs))
        if cells.cx == 1:
            new = array("h", sums if len(group) == 1 else [round(s / len(group)) for s in sums])
        else:
            means = [round(sum(sums[j : j + cells.cx]) / (min(cells.cx, count - j) * len(group))) for j in starts]
            new = array("h", [means[i // cells.cx] for i in range(count)])
        for view in group:
            view[low:high] = zeros
            view[low:high:64] = new


def _numpy_available() -> bool:
    try:
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


def _dct_matrix():
    """The orthonormal 8-point DCT-II matrix C[u, x]: JPEG's FDCT of f is C f Cᵀ, its IDCT Cᵀ F C."""
    import numpy as np

    return np.array([[(math.sqrt(0.125) if u == 0 else 0.5) * math.cos((2 * x + 1) * u * math.pi / 16) for x in range(8)]
                     for u in range(8)])


def _pixelate_in_pixels(views, cells: Cells, quantisation, footprint: tuple[int, int], region: Plan) -> None:
    """Pixel mode (block not a multiple of 8): the touched blocks of one component back to samples, each k-cell of
    the region set to its mean, the blocks transformed and quantised again with the component's own table."""
    import numpy as np

    arrays = [np.asarray(view).reshape(-1, 64) for view in views]
    window = np.stack([a[cells.c0 : cells.c1] for a in arrays]).astype(np.float64)
    rows, cols = window.shape[:2]
    matrix = _dct_matrix()
    q = np.asarray(quantisation, np.float64).reshape(8, 8)
    scale_x, scale_y = footprint[0] // 8, footprint[1] // 8
    samples = matrix.T @ (window.reshape(rows, cols, 8, 8) * q) @ matrix  # (rows, cols, 8, 8), level-shifted
    plane = samples.transpose(0, 2, 1, 3).reshape(rows * 8, cols * 8)
    full = np.repeat(np.repeat(plane, scale_y, 0), scale_x, 1)
    origin_x, origin_y = cells.c0 * footprint[0], cells.r0 * footprint[1]
    (x0, y0, x1, y1), block = region.box, region.block
    part = full[y0 - origin_y : y1 - origin_y, x0 - origin_x : x1 - origin_x]
    height, width = part.shape
    down, across = -(-height // block), -(-width // block)
    padded = np.full((down * block, across * block), np.nan)
    padded[:height, :width] = part
    means = np.nanmean(padded.reshape(down, block, across, block), axis=(1, 3))
    part[...] = np.repeat(np.repeat(means, block, 0), block, 1)[:height, :width]
    plane = full.reshape(rows * 8, scale_y, cols * 8, scale_x).mean(axis=(1, 3))
    blocks = plane.reshape(rows, 8, cols, 8).transpose(0, 2, 1, 3)
    coefficients = np.clip(np.rint((matrix @ blocks @ matrix.T) / q), -32768, 32767).reshape(rows, cols, 64)
    for target, new in zip(arrays, coefficients):
        target[cells.c0 : cells.c1] = new
