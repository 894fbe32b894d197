"""A baseline JPEG whose 8×8 blocks are all flat, written directly from one colour per block.

A pixelated image with blocks a multiple of 8 pixels has, in every 8×8 DCT block, a single colour: all 63 AC
coefficients are zero and the DC coefficient is the block's mean. Per 8×8 block the scan holds one DC
difference and an end-of-block code, so the work is proportional to the number of *blocks*, not pixels.

The coder is pure Python (no numpy on the Lambda's path). It is fast because of structure: with a restart
marker at the start of every MCU row, each row of MCUs starts from a zero predictor and a byte boundary, so
the rows inside one block row are byte-identical and are coded once; inside a row, the MCUs of one block
after the first are a constant bit string. Rows being independent also lets ``jpeg_dc`` code the top block
rows while libjpeg still decodes the bottom ones: ``FlatRowCoder`` codes any band of whole block rows.

Choices that matter for accuracy and size:

- DC quantiser 8: a flat block of value v has DC = 8·(v − 128), so its quantised DC is exactly v − 128 and
  decoders reconstruct v exactly (no rounding beyond the block mean's own).
- Huffman tables: an optimal DC table per component class (as libjpeg's ``optimize_coding`` builds it) from
  the sampled category counts of the top half of the block rows, or of the whole grid where that saves 2 %
  (``flat_tables``, ``better_tables``), and an AC table whose only symbol is end-of-block (one bit).
- Sampling: 4:2:0 when the block is a multiple of 16 (one MCU is one flat 16×16 colour: smallest output,
  and what the general path writes), 4:4:4 when it is only a multiple of 8; greyscale stays one component.

A leaf: imports nothing of the package.
"""
from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache
from typing import NamedTuple

DC_QUANT = 8
AC_QUANT = 255  # never used: every AC coefficient is zero
#: JPEG marker bytes
SOI, EOI = b"\xff\xd8", b"\xff\xd9"
RST = [bytes((0xFF, 0xD0 + n)) for n in range(8)]
#: zig-zag order is irrelevant for a table whose every entry but the first is the same value
_QUANT_TABLE = bytes([DC_QUANT] + [AC_QUANT] * 63)
_ICC_CHUNK = 65519  # APP2 payload limit (65533) minus the 14-byte "ICC_PROFILE\0" + sequence + count header
#: the AC table's only code: end-of-block, one bit
EOB = "0"


class FlatLayout(NamedTuple):
    """Where a flat-block JPEG's MCUs fall: the block grid, the MCU and how many MCUs a block spans."""

    width: int
    height: int
    colour: bool
    cols: int  # blocks across
    rows: int  # blocks down
    mcu: int  # MCU side: 16 with 4:2:0, 8 with 4:4:4 and grey
    luma_blocks: int  # Y blocks per MCU
    per_block: int  # MCUs along one side of a block
    mcus_x: int
    mcus_y: int

    @property
    def table_rows(self) -> int:
        """Block rows whose differences shape the Huffman tables: the top half (see ``flat_tables``)."""
        return -(-self.rows // 2)


def flat_layout(width: int, height: int, size: int, components: int) -> FlatLayout:
    """The layout of a width×height flat JPEG of size×size blocks with 1 (grey) or 3 (YCbCr) components."""
    if size % 8 or size <= 0:
        raise ValueError("block size must be a multiple of 8")
    if components not in (1, 3):
        raise ValueError("planes do not match the block grid")
    colour = components == 3
    mcu = 16 if colour and size % 16 == 0 else 8  # 4:2:0 when an MCU fits in a block, else 4:4:4
    return FlatLayout(
        width, height, colour, -(-width // size), -(-height // size), mcu, (mcu // 8) ** 2, size // mcu,
        -(-width // mcu), -(-height // mcu),
    )


def encode_flat_jpeg(
    planes: tuple[bytes, ...], width: int, height: int, size: int, icc_profile: bytes | None = None
) -> bytes:
    """A baseline JPEG of width×height made of flat size×size blocks with the given colours.

    ``planes``: (Y,) or (Y, Cb, Cr), each ``cols × rows`` bytes (one value per block, row-major), where
    cols = ceil(width / size), rows = ceil(height / size). ``size`` must be a multiple of 8.
    """
    layout = flat_layout(width, height, size, len(planes))
    if any(len(p) != layout.cols * layout.rows for p in planes):
        raise ValueError("planes do not match the block grid")
    tables = choose_tables(layout, planes)
    return assemble_flat_jpeg(layout, tables, FlatRowCoder(layout, tables).code(planes), icc_profile)


def flat_tables(layout: FlatLayout, planes) -> list[dict[int, int]]:
    """Optimal DC code lengths (luma, and chroma) from the top ``layout.table_rows`` block rows' values.

    The top half, not the whole grid, so that the streaming path can code the top while libjpeg decodes the
    bottom, and every path writes the same bytes. On photos these tables cost 0-2 % more DC bits than tables
    from the whole grid (the corpus and the benchmark's photos, blocks 8-32); where the halves differ more
    (a flat sky over a busy street) ``better_tables`` gives the whole grid's.
    """
    return [_optimal_code(counts) for counts in _flat_counts(layout, planes, layout.table_rows)]


def choose_tables(layout: FlatLayout, planes) -> list[dict[int, int]]:
    """The tables every path writes for a whole grid: the top half's, or the whole grid's where better."""
    tables = flat_tables(layout, planes)
    return better_tables(layout, planes, tables) or tables


def better_tables(layout: FlatLayout, planes, tables: list[dict[int, int]]) -> list[dict[int, int]] | None:
    """The whole grid's tables if they code its DC differences in at least 2 % fewer bits than ``tables``."""
    if layout.table_rows == layout.rows:
        return None
    counts = _flat_counts(layout, planes, layout.rows)
    whole = [_optimal_code(c) for c in counts]

    def bits(lengths: list[dict[int, int]]) -> int:
        return sum(n * (table[category] + category) for table, c in zip(lengths, counts) for category, n in c.items())

    return whole if bits(whole) < 0.98 * bits(tables) else None


def _flat_counts(layout: FlatLayout, planes, rows: int) -> list[Counter]:
    """Difference-category counts per table (luma; chroma), sampled from the first ``rows`` block rows and
    scaled to the whole grid; every category gets at least 1, so every difference that can occur has a code.
    (The counts only shape the code lengths: a few thousand samples give the same code.)"""
    cells = rows * layout.cols
    step = max(1, cells // _SAMPLE)
    weight = layout.per_block * step * layout.rows / rows  # each sample stands for step cells, per_block MCU rows
    # Zero differences: the other Y blocks of an MCU and every MCU of a block after its first.
    total_mcus = layout.mcus_x * layout.mcus_y
    first_mcus = layout.cols * layout.mcus_y
    zeros = [total_mcus * layout.luma_blocks - first_mcus]
    if layout.colour:
        zeros.append(2 * (total_mcus - first_mcus))
    classes = [planes[:1]] if not layout.colour else [planes[:1], planes[1:]]
    result = []
    for class_planes, zero_count in zip(classes, zeros):
        counts: Counter = Counter(dict.fromkeys(_CATEGORIES, 1))
        for plane in class_planes:
            sample = _sampled_differences(plane[:cells], layout.cols, step)
            by_category: Counter = Counter()
            for difference, n in Counter(sample).items():  # (counting values first: ~3x faster than mapping each)
                by_category[_CATEGORY_OF[difference]] += n
            for category, n in by_category.items():
                counts[category] += round(n * weight)
        counts[0] += zero_count
        result.append(counts)
    return result


class FlatRowCoder:
    """Codes whole block rows of a flat JPEG's scan with given tables: one padded, stuffed bytes per row.

    With a restart marker at the start of every MCU row, each row starts from a zero predictor on a byte
    boundary, so block rows can be coded in any bands, in any order, and the bands joined.
    """

    def __init__(self, layout: FlatLayout, tables: list[dict[int, int]]):
        tokens = [token_table(table) for table in tables]
        # Every category has a code (the counts start at 1), so zero differences always have one.
        zero_y = tokens[0][0] + EOB
        zero_mcu = zero_y * layout.luma_blocks + ((tokens[1][0] + EOB) * 2 if layout.colour else "")
        self.cols = layout.cols
        self.luma = _difference_table(tokens[0], EOB + zero_y * (layout.luma_blocks - 1))
        self.chroma = _difference_table(tokens[1], EOB) if layout.colour else None
        self.rest = zero_mcu * (layout.per_block - 1)  # the MCUs of a block after its first: all zero
        last_mcus = layout.mcus_x - (layout.cols - 1) * layout.per_block  # MCUs in a row's last block (it may be cut)
        self.trim = len(zero_mcu) * (layout.per_block - last_mcus)

    def code(self, planes) -> list[bytes]:
        """The packed bytes of each block row in ``planes`` (whole rows of the grid, top to bottom)."""
        differences = [_dc_differences(plane, self.cols) for plane in planes]
        # (List comprehensions: CPython's specialised list indexing beats map(table.__getitem__) by ~30 %.)
        luma = self.luma
        streams = [[luma[d] for d in differences[0]]]
        if self.chroma:
            chroma = self.chroma
            streams += [[chroma[d] for d in differences[1]], [chroma[d] for d in differences[2]]]
        if self.rest:
            streams.append([self.rest] * len(streams[0]))
        # Interleave block by block with slice assignments (faster than zip + chain).
        flat = streams[0] if len(streams) == 1 else [""] * (len(streams) * len(streams[0]))
        if len(streams) > 1:
            for index, stream in enumerate(streams):
                flat[index :: len(streams)] = stream
        rows = len(differences[0]) // self.cols
        step = len(flat) // rows if rows else 0
        packed = []
        for row in range(rows):
            bits = "".join(flat[row * step : (row + 1) * step])
            if self.trim:
                bits = bits[: len(bits) - self.trim]
            packed.append(_pack(bits))
        return packed


def assemble_flat_jpeg(layout: FlatLayout, tables: list[dict[int, int]], packed_rows: list[bytes], icc_profile: bytes | None) -> bytes:
    """The JPEG file: headers, then each block row's bytes once per MCU row it spans, restart markers between."""
    scan = []
    interval = 0
    for row, row_bytes in enumerate(packed_rows):
        for _ in range(min(layout.per_block, layout.mcus_y - row * layout.per_block)):
            if interval:
                scan.append(RST[(interval - 1) & 7])
            scan.append(row_bytes)
            interval += 1
    return b"".join(
        [
            SOI,
            _app0_jfif(),
            *_app2_icc(icc_profile),
            _segment(0xDB, b"\x00" + _QUANT_TABLE),
            _sof0(layout.width, layout.height, layout.colour, layout.mcu),
            *(_dht(0, index, table) for index, table in enumerate(tables)),
            _dht(1, 0, {0x00: 1}),
            _segment(0xDD, layout.mcus_x.to_bytes(2, "big")),
            _sos(layout.colour),
            *scan,
            EOI,
        ]
    )


def _dc_differences(plane: bytes, cols: int) -> memoryview:
    """Each block's DC difference from its predictor, plus 255 (so 0..510), in scan order.

    The predictor is the previous block's value, reset to 128 (DC 0) at each row start, where a restart
    marker resets the decoder's.
    """
    previous = bytearray(b"\x80") + plane[:-1]
    previous[::cols] = b"\x80" * (len(plane) // cols)
    return _lane_differences(plane, previous)


def _sampled_differences(plane: bytes, cols: int, step: int) -> memoryview:
    """``_dc_differences(plane, cols)[::step]``, without working out the others."""
    values = plane[::step]
    previous = (bytearray(b"\x80") + plane[step - 1 :: step])[: len(values)]
    # sample k sits at a row start when k·step is a multiple of cols, i.e. k a multiple of this period
    period = cols // math.gcd(step, cols)
    previous[::period] = b"\x80" * len(range(0, len(values), period))
    return _lane_differences(values, previous)


def _lane_differences(values: bytes, previous: bytes) -> memoryview:
    """``values[i] - previous[i] + 255`` for every i, as 16-bit numbers.

    No Python loop per block: the values and predictors are laid out in 16-bit lanes of two big integers,
    subtracted in one go (a bias of 255 per lane keeps every lane non-negative, so no borrow crosses lanes),
    and read back as 16-bit numbers.
    """
    count = len(values)
    lanes_value, lanes_previous = bytearray(2 * count), bytearray(2 * count)
    lanes_value[0::2] = values
    lanes_previous[0::2] = previous
    value = int.from_bytes(lanes_value, "little") + int.from_bytes(b"\xff\x00" * count, "little")
    shifted = value - int.from_bytes(lanes_previous, "little")
    return memoryview(shifted.to_bytes(2 * count, "little")).cast("H")


#: categories of DC differences between 8-bit values (DC = value − 128 with quantiser 8): 0..8
_CATEGORIES = range(9)
#: the category of each difference + 255
_CATEGORY_OF = bytes(abs(d).bit_length() for d in range(-255, 256))
#: the category counts only shape the code lengths: a few thousand samples give the same code
_SAMPLE = 2048


def _difference_table(tokens: dict[int, str], suffix: str) -> list[str]:
    """Bits for every difference + 255: its token, then ``suffix``."""
    return [tokens[d] + suffix for d in range(-255, 256)]


def _optimal_code(freq: Counter) -> dict[int, int]:
    """Code lengths {symbol: bits} of an optimal JPEG Huffman code (ITU T.81 Annex K.2, as libjpeg does it).

    A reserved symbol with frequency 1 keeps any real code from being all ones; lengths are capped at 16.
    """
    RESERVED = 256
    freq = {s: f for s, f in freq.items() if f > 0}
    freq[RESERVED] = 1
    size = dict.fromkeys(freq, 0)
    others = dict.fromkeys(freq, None)
    live = dict(freq)
    while len(live) > 1:
        # the two least frequent; on ties the larger symbol first, as libjpeg picks
        c1 = min(live, key=lambda s: (live[s], -s))
        f1 = live.pop(c1)
        c2 = min(live, key=lambda s: (live[s], -s))
        live[c1] = f1 + live.pop(c2)
        # every symbol in both merged chains gets one bit longer; c2's chain is appended to c1's
        others[_lengthen_chain(c1, size, others)] = c2
        _lengthen_chain(c2, size, others)
    counts = [0] * 33
    for s in size.values():
        counts[s] += 1
    for i in range(32, 16, -1):  # limit to 16 bits (K.3 adjust_BITS)
        while counts[i] > 0:
            j = i - 2
            while counts[j] == 0:
                j -= 1
            counts[i] -= 2
            counts[i - 1] += 1
            counts[j + 1] += 2
            counts[j] -= 1
    i = 16
    while counts[i] == 0:
        i -= 1
    counts[i] -= 1  # drop the reserved symbol's code (the longest)
    symbols = sorted((s for s in size if s != RESERVED), key=lambda s: (size[s], s))
    lengths: dict[int, int] = {}
    it = iter(symbols)
    for bits in range(1, 17):
        for _ in range(counts[bits]):
            lengths[next(it)] = bits
    return lengths


def _lengthen_chain(node: int, size: dict, others: dict) -> int:
    """Add one bit to the code length of every symbol in ``node``'s chain; return the chain's last symbol."""
    while True:
        size[node] += 1
        if others[node] is None:
            return node
        node = others[node]


def _canonical_codes(lengths: dict[int, int]) -> dict[int, str]:
    """Bit strings of the canonical code with these lengths (symbols ordered as in the DHT segment)."""
    codes: dict[int, str] = {}
    code, bits = 0, 0
    for symbol in sorted(lengths, key=lambda s: (lengths[s], s)):
        code <<= lengths[symbol] - bits
        bits = lengths[symbol]
        codes[symbol] = format(code, f"0{bits}b")
        code += 1
    return codes


def token_table(lengths: dict[int, int]) -> dict[int, str]:
    """Bit string of every DC difference whose category the table codes: Huffman code + extra bits.

    The same few tables come back image after image (a warm Lambda sees many): they are made once. The table
    returned is shared: read it, never change it."""
    return _token_table_of(tuple(sorted(lengths.items())))


@lru_cache(maxsize=256)
def _token_table_of(items: tuple[tuple[int, int], ...]) -> dict[int, str]:
    lengths = dict(items)
    codes = _canonical_codes(lengths)
    table = {0: codes[0]} if 0 in codes else {}
    for category, code in codes.items():
        if category == 0:
            continue
        low, high = 1 << (category - 1), (1 << category) - 1
        for value in range(low, high + 1):
            table[value] = code + format(value, f"0{category}b")
            # negative differences: the one's complement of |value| in `category` bits
            table[-value] = code + format(high - value, f"0{category}b")
    return table


def _pack(bits: str) -> bytes:
    """Bits to bytes: padded with ones to a byte boundary, every 0xFF followed by a stuffed 0x00."""
    pad = -len(bits) % 8
    if pad:
        bits += "1" * pad
    if not bits:
        return b""
    return int(bits, 2).to_bytes(len(bits) // 8, "big").replace(b"\xff", b"\xff\x00")


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def _app0_jfif() -> bytes:
    # JFIF 1.01, aspect ratio 1:1, no thumbnail: tells decoders the three components are YCbCr.
    return _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")


def _app2_icc(profile: bytes | None) -> list[bytes]:
    if not profile:
        return []
    chunks = [profile[i : i + _ICC_CHUNK] for i in range(0, len(profile), _ICC_CHUNK)]
    if len(chunks) > 255:
        return []  # cannot be carried in JPEG; unreachable for real profiles
    return [_segment(0xE2, b"ICC_PROFILE\x00" + bytes((n + 1, len(chunks))) + c) for n, c in enumerate(chunks)]


def _sof0(width: int, height: int, colour: bool, mcu: int) -> bytes:
    if not colour:
        components = b"\x01\x11\x00"
    else:
        luma = b"\x22" if mcu == 16 else b"\x11"
        components = b"\x01" + luma + b"\x00" + b"\x02\x11\x00" + b"\x03\x11\x00"
    return _segment(0xC0, b"\x08" + height.to_bytes(2, "big") + width.to_bytes(2, "big") + bytes((len(components) // 3,)) + components)


def _dht(table_class: int, index: int, lengths: dict[int, int]) -> bytes:
    counts = [0] * 16
    for bits in lengths.values():
        counts[bits - 1] += 1
    symbols = sorted(lengths, key=lambda s: (lengths[s], s))
    return _segment(0xC4, bytes((table_class << 4 | index, *counts, *symbols)))


def _sos(colour: bool) -> bytes:
    components = b"\x01\x00" if not colour else b"\x01\x00\x02\x10\x03\x10"
    return _segment(0xDA, bytes((len(components) // 2,)) + components + b"\x00\x3f\x00")
