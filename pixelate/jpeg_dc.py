"""The JPEG fast path: decode at 1/8 in the DCT domain, write a JPEG whose 8×8 blocks are all flat.

A pixelated image with blocks a multiple of 8 pixels has, in every 8×8 DCT block, a single colour: all 63
AC coefficients are zero and the DC coefficient is the block's mean. So the work the output needs is

1. the mean of each 8×8 cell of the input: libjpeg gives exactly that when it decodes at scale 1/8 (its
   1×1 inverse DCT *is* the DC term), skipping the inverse DCT, upsampling and colour conversion of every
   pixel (we keep YCbCr: the output is YCbCr too);
2. the mean of each ``size``×``size`` block: ``Image.reduce(size // 8)`` on the 1/8 image;
3. a baseline JPEG written directly: per 8×8 block one DC difference and an end-of-block code.

The entropy coder below is pure Python (no numpy on the Lambda's path). It is fast because of structure:
with a restart marker at the start of every MCU row, each row of MCUs starts from a zero predictor and a
byte boundary, so the rows inside one block row are byte-identical and are coded once; inside a row, the
MCUs of one block after the first are a constant bit string. The work is proportional to the number of
*blocks*, not pixels.

Choices that matter for accuracy and size:

- DC quantiser 8: a flat block of value v has DC = 8·(v − 128), so its quantised DC is exactly v − 128 and
  decoders reconstruct v exactly (no rounding beyond the block mean's own).
- Huffman tables: an optimal DC table per component class from the actual category counts (as libjpeg's
  ``optimize_coding`` builds it), and an AC table whose only symbol is end-of-block (one bit).
- Sampling: 4:2:0 when the block is a multiple of 16 (one MCU is one flat 16×16 colour: smallest output,
  and what the general path writes), 4:4:4 when it is only a multiple of 8; greyscale stays one component.

``pixelate_jpeg`` returns ``None`` whenever it does not apply or anything is unusual; the core then runs
the general path, which also gives every rejection its reason.
"""
from __future__ import annotations

import io
from collections import Counter

ORIENTATION = 0x0112
DC_QUANT = 8
AC_QUANT = 255  # never used: every AC coefficient is zero
#: JPEG marker bytes
SOI, EOI = b"\xff\xd8", b"\xff\xd9"
RST = [bytes((0xFF, 0xD0 + n)) for n in range(8)]
#: zig-zag order is irrelevant for a table whose every entry but the first is the same value
_QUANT_TABLE = bytes([DC_QUANT] + [AC_QUANT] * 63)
_ICC_CHUNK = 65519  # APP2 payload limit (65533) minus the 14-byte "ICC_PROFILE\0" + sequence + count header
_EOB = "0"  # the AC table's only code: end-of-block, one bit


# ---------------------------------------------------------------------------------------------- the fast path


def pixelate_jpeg(data: bytes, size: int, method: str, limits=None):
    """Pixelate a JPEG in the DCT domain, or return ``None`` when the general path must do it.

    Applies to baseline and progressive 8-bit YCbCr (4:4:4 or 4:2:0) or greyscale JPEGs whose sides are
    multiples of 8, ``method == "average"``, ``size`` a multiple of 8. Anything else (CMYK, RGB-coded, 4:2:2,
    MPO, damaged, over the limits) returns ``None``: the general path decides and explains.
    """
    if method != "average" or not isinstance(size, int) or size % 8 or size <= 0:
        return None
    from pixelate.limits import DEFAULT_LIMITS

    limits = limits or DEFAULT_LIMITS
    if len(data) > limits.max_bytes:
        return None
    try:
        grid = _decode_block_grid(data, size, limits)
    except Exception:  # damaged, truncated, unsupported: the general path classifies it
        return None
    if grid is None:
        return None
    mode, width, height, planes, icc_profile = grid
    jpeg = encode_flat_jpeg(planes, width, height, size, icc_profile)
    from pixelate.core import Result

    return Result(jpeg, "image/jpeg", "JPEG", width, height, 1)


def _decode_block_grid(data: bytes, size: int, limits):
    """(mode, width, height, planes, icc) of the upright image's block means, or ``None`` if not applicable.

    ``planes`` holds one bytes object per component (Y, or Y Cb Cr), one byte per block, rows top to bottom.
    """
    import warnings

    from PIL import Image, ImageFile, JpegImagePlugin

    if ImageFile.LOAD_TRUNCATED_IMAGES:
        return None  # someone made Pillow accept truncated files: only the general path may decide that
    with warnings.catch_warnings():
        # Pillow warns between its own pixel limit and twice that; our limit is checked below.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data), formats=["JPEG"])
    if not isinstance(image, JpegImagePlugin.JpegImageFile) or image.format != "JPEG":
        return None  # MPO and friends: the general path picks the main picture
    if image.mode not in ("RGB", "L") or getattr(image, "bits", 8) != 8:
        return None
    if image.mode == "RGB" and not (_is_ycbcr(image) and _exact_at_one_eighth(image)):
        return None
    width, height = image.size
    if width * height > min(limits.max_pixels, limits.max_total_pixels) or width < 8 or height < 8:
        return None  # over a limit: the general path rejects it with the reason; tiny: it does it well
    orientation = _orientation(image)
    if not orientation:
        return None
    # Both sides must be whole 8×8 cells. A cut cell's DC is the mean of its pixels *and* the encoder's
    # padding (copies of the edge), and reduce() would weigh it as a whole cell: measurably off (3 levels
    # on a one-block image). And with an orientation other than 1 the cut cells would land at the
    # displayed top-left, shifting the grid. Phone photos (4032×3024, 4000×3000, 1920×1080…) are whole.
    if width % 8 or height % 8:
        return None
    mode = "YCbCr" if image.mode == "RGB" else "L"
    cells = (width // 8, height // 8)
    image.draft(mode, (width // 8, height // 8))
    if image.size != cells or image.mode != mode or image.decoderconfig[:1] != (8,):
        return None
    image.load()  # raises on truncation (LOAD_TRUNCATED_IMAGES is False) and on broken data
    small = _upright(image, orientation)  # the 1/8 grid is small: turning it costs nothing
    blocks = small.reduce(size // 8) if size > 8 else small
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    if blocks.size != ((width + size - 1) // size, (height + size - 1) // size):
        return None
    planes = tuple(band.tobytes() for band in blocks.split())
    return mode, width, height, planes, image.info.get("icc_profile")


def _is_ycbcr(image) -> bool:
    """A 3-component JPEG is YCbCr unless an Adobe marker or the component ids say it is RGB-coded."""
    if image.info.get("adobe_transform") == 0:
        return False
    ids = tuple(layer[0] for layer in getattr(image, "layer", ()))
    return ids != (ord("R"), ord("G"), ord("B"))


def _exact_at_one_eighth(image) -> bool:
    """Whether libjpeg's 1/8 decode gives every 8×8 cell its own chroma: 4:4:4 and 4:2:0 only.

    With 4:2:0 libjpeg runs a 2×2 inverse DCT on chroma, one value per cell. With 4:2:2 (and 4:4:0,
    4:1:1) it cannot scale the two directions apart, so it decodes one chroma value per 16×8 and
    upsamples: the cells' chroma is then measurably wrong (up to ~30 levels on small images, several on
    photos at block 8). Those files take the general path.
    """
    from PIL import JpegImagePlugin  # loaded by now: the image was opened with it

    return JpegImagePlugin.get_sampling(image) in (0, 2)  # the rule core._draft_scale applies too


def _orientation(image) -> int:
    try:
        value = image.getexif().get(ORIENTATION, 1)
    except Exception:
        return 0  # unreadable EXIF: let the general path decide what it means
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _upright(image, orientation: int):
    """The image as displayed for an EXIF orientation: the core's own turn."""
    from pixelate.core import _transpose  # loaded by now: the core is what calls the fast path

    return _transpose(image, orientation)


# ---------------------------------------------------------------------------------------------- the encoder


def encode_flat_jpeg(
    planes: tuple[bytes, ...], width: int, height: int, size: int, icc_profile: bytes | None = None
) -> bytes:
    """A baseline JPEG of width×height made of flat size×size blocks with the given colours.

    ``planes``: (Y,) or (Y, Cb, Cr), each ``cols × rows`` bytes (one value per block, row-major), where
    cols = ceil(width / size), rows = ceil(height / size). ``size`` must be a multiple of 8.
    """
    if size % 8 or size <= 0:
        raise ValueError("block size must be a multiple of 8")
    cols, rows = -(-width // size), -(-height // size)
    if any(len(p) != cols * rows for p in planes) or len(planes) not in (1, 3):
        raise ValueError("planes do not match the block grid")
    colour = len(planes) == 3
    # 4:2:0 when an MCU fits in a block, else 4:4:4; grey has one component.
    mcu = 16 if colour and size % 16 == 0 else 8
    luma_blocks = (mcu // 8) ** 2  # Y blocks per MCU
    per_block = size // mcu  # MCUs along one side of a block
    mcus_x, mcus_y = -(-width // mcu), -(-height // mcu)

    differences = [_dc_differences(plane, cols) for plane in planes]
    classes = [[differences[0]]] if not colour else [[differences[0]], [differences[1], differences[2]]]
    # Zero differences: the other Y blocks of an MCU and every MCU of a block after its first.
    total_mcus = mcus_x * mcus_y
    first_mcus = cols * mcus_y
    zeros = [total_mcus * luma_blocks - first_mcus]
    if colour:
        zeros.append(2 * (total_mcus - first_mcus))
    tables = [_optimal_code(_category_counts(c, per_block, z)) for c, z in zip(classes, zeros)]
    tokens = [_token_table(table) for table in tables]

    # Every category has a code (the counts start at 1), so zero differences always have one.
    zero_y = tokens[0][0] + _EOB
    zero_mcu = zero_y * luma_blocks + ((tokens[1][0] + _EOB) * 2 if colour else "")
    luma = _difference_table(tokens[0], _EOB + zero_y * (luma_blocks - 1))
    rest = zero_mcu * (per_block - 1)
    last_mcus = mcus_x - (cols - 1) * per_block  # MCUs in the last block of a row (it may be cut)
    trim = len(zero_mcu) * (per_block - last_mcus)

    # (List comprehensions: CPython's specialised list indexing beats map(table.__getitem__) by ~30 %.)
    streams = [[luma[d] for d in differences[0]]]
    if colour:
        chroma = _difference_table(tokens[1], _EOB)
        streams += [[chroma[d] for d in differences[1]], [chroma[d] for d in differences[2]]]
    if rest:
        streams.append([rest] * len(streams[0]))
    # Interleave block by block with slice assignments (faster than zip + chain).
    flat = streams[0] if len(streams) == 1 else [""] * (len(streams) * len(streams[0]))
    if len(streams) > 1:
        for index, stream in enumerate(streams):
            flat[index :: len(streams)] = stream
    step = len(flat) // rows

    scan = []
    interval = 0
    for row in range(rows):
        bits = "".join(flat[row * step : (row + 1) * step])
        if trim:
            bits = bits[: len(bits) - trim]
        row_bytes = _pack(bits)
        for _ in range(min(per_block, mcus_y - row * per_block)):
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
            _sof0(width, height, colour, mcu),
            *(_dht(0, index, table) for index, table in enumerate(tables)),
            _dht(1, 0, {0x00: 1}),
            _segment(0xDD, mcus_x.to_bytes(2, "big")),
            _sos(colour),
            *scan,
            EOI,
        ]
    )


def _dc_differences(plane: bytes, cols: int) -> memoryview:
    """Each block's DC difference from its predictor, plus 255 (so 0..510), in scan order.

    The predictor is the previous block's value, reset to 128 (DC 0) at each row start, where a restart
    marker resets the decoder's. No Python loop per block: the values and predictors are laid out in
    16-bit lanes of two big integers, subtracted in one go (a bias of 255 per lane keeps every lane
    non-negative, so no borrow crosses lanes), and read back as 16-bit numbers.
    """
    count = len(plane)
    previous = bytearray(b"\x80") + plane[:-1]
    previous[::cols] = b"\x80" * (count // cols)
    lanes_value, lanes_previous = bytearray(2 * count), bytearray(2 * count)
    lanes_value[0::2] = plane
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


def _category_counts(planes: list[memoryview], weight: int, zeros: int) -> Counter:
    """Counts of difference categories (sampled) for one table; every category gets at least 1.

    The floor of 1 means every difference that can occur has a code, so a sample is safe.
    """
    counts: Counter = Counter(dict.fromkeys(_CATEGORIES, 1))
    for differences in planes:
        stride = max(1, len(differences) // _SAMPLE)
        scale = weight * stride
        for category, n in Counter(map(_CATEGORY_OF.__getitem__, differences[::stride])).items():
            counts[category] += n * scale
    counts[0] += zeros
    return counts


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


def _token_table(lengths: dict[int, int]) -> dict[int, str]:
    """Bit string of every DC difference whose category the table codes: Huffman code + extra bits."""
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
