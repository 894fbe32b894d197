"""PNG fast paths: decoding with a faster inflate, and writing block-flat images without re-filtering them.

Decoding. Pillow's wheels inflate PNG data with their own zlib (1.2.13): at 12 MP that inflate is ~240 of
Pillow's ~300 ms. ISA-L's inflate (``isal``) is ~2.5× faster, and both it and Pillow's decoder release
the GIL, so one thread inflates while Pillow's own PNG decoder unfilters what is already inflated, fed as
*stored* deflate blocks. Pillow still does all the PNG work (filters, unpacking), so pixels are identical.

Writing. A pixelated image is flat blocks. With PNG's Sub filter on a block row's first scanline and Up
on the rest, every filtered byte is zero except one pixel per block, so the writer filters one scanline
per block row (computed from the grid, one pixel per block) and deflates the identical all-zero Up
scanlines once, reusing the compressed bytes for every block row. Nothing of the enlarged image is made.

Stricter and laxer than Pillow's loader: anything after the image data but IEND (EXIF, a transparency or
profile out of place, a damaged chunk) sends the file to Pillow, as does a zlib header zlib would refuse.
One difference is left: ISA-L accepts some deflate streams with incomplete Huffman code sets that zlib
rejects ("invalid distances set"); such a file decodes here to what ISA-L reads (a fuzzer found 149 in
100,000 random streams), bounded like any other.

Neither touches anything but its arguments (decoding reads the opened image's own file object, and its
worker thread never outlives the call). What they do not take gets ``None`` and goes through Pillow:
interlaced PNGs and APNGs for decoding; palette, 16-bit and colour-keyed images for writing.
"""
from __future__ import annotations

import copy
import queue
import struct
import threading
import zlib
from collections.abc import Iterable

from PIL import Image, ImageChops

#: modes the writer handles (8 bits per sample): (bytes per pixel, PNG colour type)
_WRITABLE = {"L": (1, 0), "LA": (2, 4), "RGB": (3, 2), "RGBA": (4, 6)}
#: raw bytes inflated per step: small enough to overlap inflating with unfiltering, large enough to be cheap
_STEP = 1 << 20
#: IDAT chunks are joined into pieces of at least this many compressed bytes (files written in tiny chunks
#: would otherwise cost a hand-over between the threads per chunk)
_PIECE = 1 << 18
_STORED_MAX = 0xFFFF
#: an Up run (in bytes) from which splicing one deflated copy beats deflating it inline every time
_SPLICE_AT_LEAST = 1 << 15
#: grid rows filtered at once: bounds the writer's memory to a band of scanlines, whatever the image size
_BAND_ROWS = 64
_ADLER_BASE = 65521


# --- decoding -------------------------------------------------------------------------------------------


def decode(image: Image.Image) -> Image.Image | None:
    """The pixels of an opened, single-frame PNG, or ``None`` when the fast path does not apply or fails.

    ``None`` always means "let Pillow load it": a damaged file then fails there, with Pillow's own error.
    """
    layout = _layout(image)
    if layout is None:
        return None
    try:
        from isal import isal_zlib
    except ImportError:  # not installed (a bare Pillow environment): Pillow's loader does the same work
        return None
    offset, rawmode, row_bytes = layout
    width, height = image.size
    expected = height * (1 + row_bytes)
    spans = _idat_spans(image.fp, offset)
    if spans is None:
        return None
    pieces: queue.Queue = queue.Queue(maxsize=4)  # bounds what is inflated ahead of the unfilter
    stop = threading.Event()
    try:
        out = Image.new(image.mode, image.size)
        decoder = Image._getdecoder(image.mode, "zip", (rawmode, 0))  # what Pillow's own load() makes
        decoder.setimage(out.im, (0, 0, width, height))
        worker = threading.Thread(
            target=_inflate_stored, args=(isal_zlib, _pieces(image.fp, spans), expected, pieces, stop), daemon=True
        )
        worker.start()
    except Exception:  # no memory, no thread, a Pillow without these internals: Pillow's loader decides
        return None
    finished = False
    try:
        while (piece := pieces.get()) is not None:
            consumed, status = decoder.decode(piece)
            if consumed < 0:
                # Pillow's PNG decoder returns -1 once the last row is done (status 0), or on an error.
                finished = status == 0
                break
    finally:
        stop.set()
        while worker.is_alive():  # unblock a worker waiting on a full queue
            try:
                pieces.get_nowait()
            except queue.Empty:
                worker.join(0.01)
        decoder.cleanup()
    if not finished:
        return None
    out.info = dict(image.info)
    if out.mode == "P":
        # The PLTE read at open, realised the way Image.load() realises it on Pillow's own path.
        out.palette = copy.copy(image.palette)
        out.load()
    return out


#: channels per PNG colour type (grey, RGB, palette, grey + alpha, RGBA)
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _layout(image: Image.Image) -> tuple[int, str, int] | None:
    """(offset of the first IDAT's data, Pillow's rawmode, bytes per row) for a PNG this path decodes:
    one frame, not interlaced, read by Pillow as one "zip" tile. ``None`` for anything else."""
    if image.format != "PNG" or getattr(image, "n_frames", 1) != 1 or image.info.get("interlace"):
        return None
    if image.mode == "P" and getattr(image, "palette", None) is None:
        return None
    tile = getattr(image, "tile", None)
    if not tile or len(tile) != 1:
        return None
    name, extents, offset, rawmode = tile[0]
    if name != "zip" or not isinstance(rawmode, str) or tuple(extents) != (0, 0, *image.size):
        return None
    try:  # bit depth and colour type, from the IHDR chunk that always comes first
        image.fp.seek(16)
        header = image.fp.read(13)
        width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    except (OSError, ValueError, AttributeError, struct.error):
        return None
    if (width, height) != image.size or interlace or colour_type not in _CHANNELS:
        return None
    return offset, rawmode, (width * depth * _CHANNELS[colour_type] + 7) // 8


def _idat_run(fp, offset: int) -> tuple[list[tuple[int, int]], bytes]:
    """(position, length) of each IDAT chunk's data in the run whose first data starts at ``offset``, and
    the header (up to 8 bytes) of whatever follows the run. Only chunk headers are read."""
    fp.seek(offset - 8)
    spans = []
    while len(head := fp.read(8)) == 8 and head[4:] == b"IDAT":
        (length,) = struct.unpack(">I", head[:4])
        spans.append((fp.tell(), length))
        fp.seek(length + 4, 1)
    return spans, head


def _idat_spans(fp, offset: int) -> list[tuple[int, int]] | None:
    """The IDAT run's data spans, or ``None`` unless nothing but IEND follows it (whatever Pillow's loader
    would read after the pixels, a transparency or profile out of place or a damaged chunk, is left to
    Pillow), the data is all there, and its zlib header is one zlib accepts. The data itself is read piece
    by piece while inflating. CRCs are skipped, as Pillow skips them."""
    try:
        spans, after = _idat_run(fp, offset)
        if not spans or (after and after[4:] != b"IEND"):
            return None
        last, length = spans[-1]
        if fp.seek(0, 2) < last + length:  # seeking past the end is allowed; the data must be there
            return None
        fp.seek(spans[0][0])
        start = fp.read(2) if spans[0][1] >= 2 else b"".join(_pieces(fp, spans[:2]))[:2]
        return spans if _plain_zlib_header(start) else None
    except (OSError, ValueError, AttributeError, struct.error):
        return None


def _pieces(fp, spans: list[tuple[int, int]]):
    """The IDAT data, read and joined into pieces of at least ``_PIECE`` bytes (files written in tiny chunks
    would otherwise cost a hand-over between the threads per chunk)."""
    pending, pending_size = [], 0
    for position, length in spans:
        fp.seek(position)
        pending.append(fp.read(length))
        pending_size += length
        if pending_size >= _PIECE:
            yield b"".join(pending)
            pending, pending_size = [], 0
    if pending:
        yield b"".join(pending)


def _plain_zlib_header(data: bytes) -> bool:
    """A zlib header zlib itself accepts: deflate, window ≤ 32 KiB, valid check bits, no preset dictionary.
    (ISA-L ignores the window size, so a header zlib rejects would otherwise decode here but not in Pillow.)"""
    if len(data) < 2:
        return False
    cmf, flags = data[0], data[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and (cmf << 8 | flags) % 31 == 0 and not flags & 0x20


def has_chunks_after_pixels(image: Image.Image) -> bool:
    """Whether an opened PNG has any chunk but IEND after its image data. Pillow reads those only while
    loading the pixels (``PngImageFile.getexif`` even loads the image to look for EXIF there), and they can
    change the result (EXIF orientation, a transparency or colour profile out of place, a damaged chunk),
    so such files are loaded by Pillow before anything else is read. Unreadable counts as yes."""
    try:
        _, after = _idat_run(image.fp, image.tile[0][2])
        return len(after) == 8 and after[4:] != b"IEND"
    except Exception:
        return True


def _inflate_stored(isal_zlib, compressed: Iterable[bytes], expected: int, pieces: queue.Queue, stop: threading.Event) -> None:
    """Inflate ``compressed`` (read lazily, on this thread) and put it on ``pieces`` as a zlib stream of
    stored blocks, then ``None``.

    Output past ``expected`` bytes is never produced (a decompression bomb costs nothing), and the stream
    is left unterminated: the decoder stops by itself after the last row.
    """
    def put(item) -> bool:
        while not stop.is_set():
            try:
                pieces.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    try:
        inflater = isal_zlib.decompressobj()
        produced, first = 0, True
        for chunk in compressed:
            pending = chunk
            while pending and produced < expected:
                raw = inflater.decompress(pending, min(_STEP, expected - produced))
                pending = inflater.unconsumed_tail
                if not raw:
                    break
                produced += len(raw)
                if not put(_stored_blocks(raw, first)):
                    return
                first = False
            if produced >= expected or inflater.eof:
                break
    except Exception:  # corrupt data: the decoder never finishes, and the caller falls back to Pillow
        pass
    finally:
        put(None)


def _stored_blocks(raw: bytes, first: bool) -> bytes:
    """``raw`` as non-final stored deflate blocks, after a zlib header when it is the stream's start."""
    view = memoryview(raw)
    parts = [b"\x78\x01"] if first else []
    for start in range(0, len(raw), _STORED_MAX):
        block = view[start : start + _STORED_MAX]
        parts.append(struct.pack("<BHH", 0, len(block), len(block) ^ 0xFFFF))
        parts.append(block)
    return b"".join(parts)


# --- writing --------------------------------------------------------------------------------------------


def encode_blocks(grid: Image.Image, size: int, output_size: tuple[int, int], icc_profile: bytes | None = None) -> bytes | None:
    """A PNG of ``grid`` enlarged to ``size``×``size`` blocks and cut to ``output_size``, or ``None`` for a
    mode this writer does not handle. Decodes to exactly what ``ops.enlarge_blocks`` then Pillow would give.
    """
    if grid.mode not in _WRITABLE or "transparency" in grid.info:
        return None
    width, height = output_size
    bpp, colour_type = _WRITABLE[grid.mode]
    row_bytes = width * bpp
    # After a block row's first scanline, the rest are "same as above": all zero.
    up_row = b"\x02" + bytes(row_bytes)
    compressor = _rle_compressor()
    body, adler = [], 1
    runs: dict[int, tuple[bytes, bytes | None, int]] = {}  # rows: (raw run, deflated or None, Adler-32)
    above = bytes(row_bytes)  # the scanline above the first one: zeros, as the Up filter defines it
    for band_top in range(0, grid.height, _BAND_ROWS):
        band = grid.crop((0, band_top, grid.width, min(grid.height, band_top + _BAND_ROWS)))
        for index, scanline in enumerate(_first_scanlines(band, size, width, bpp, above), band_top):
            body.append(compressor.compress(scanline))
            adler = zlib.adler32(scanline, adler)
            rows = min(size, height - index * size) - 1  # the Up rows after this scanline
            if rows <= 0:
                continue
            if rows not in runs:
                run = up_row * rows
                # A long run is deflated once and spliced in for every block row; a short one (small
                # blocks, narrow images) costs less deflated inline than a flush and new tables per row.
                runs[rows] = (run, _deflated_run(run) if len(run) >= _SPLICE_AT_LEAST else None, zlib.adler32(run))
            run, deflated, run_adler = runs[rows]
            if deflated is None:
                body.append(compressor.compress(run))
            else:
                # A full flush byte-aligns the stream and forgets the window, so the self-contained run can
                # be spliced in between: the compressor never refers back into it.
                body.append(compressor.flush(zlib.Z_FULL_FLUSH))
                body.append(deflated)
            adler = _adler32_combine(adler, run_adler, len(run))
        above = band.crop((0, band.height - 1, band.width, band.height))
        above = _strip(above, size, width).tobytes()
    body.append(compressor.flush(zlib.Z_FINISH))
    idat = b"\x78\x01" + b"".join(body) + struct.pack(">I", adler)
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    chunks = [_chunk(b"IHDR", header)]
    if icc_profile:
        chunks.append(_chunk(b"iCCP", b"ICC Profile\0\0" + zlib.compress(icc_profile)))
    chunks += [_chunk(b"IDAT", idat), _chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def _strip(grid: Image.Image, size: int, width: int) -> Image.Image:
    """Each grid row as one output scanline: every pixel repeated ``size`` times across, cut to ``width``."""
    return grid.resize((width, grid.height), Image.Resampling.NEAREST, box=(0, 0, width / size, grid.height))


def _first_scanlines(band: Image.Image, size: int, width: int, bpp: int, above: bytes) -> list[bytes]:
    """The filtered first scanline of each block row in ``band`` (filter byte included).

    Sub leaves one non-zero pixel per block (its difference from the block on its left); Up leaves zeros
    wherever the block row above has the same colours (pixel art, flat graphics). Each row takes whichever
    has more zero bytes. ``above`` is the unfiltered scanline just above the band.
    """
    rows = band.height
    # Byte arithmetic is the same for every mode: view the samples as one wide greyscale image.
    samples = Image.frombytes("L", (width * bpp, rows), _strip(band, size, width).tobytes())
    left = ImageChops.offset(samples, bpp, 0)
    left.paste(0, (0, 0, bpp, rows))  # the first pixel's left neighbour is zero
    up = ImageChops.offset(samples, 0, 1)
    up.paste(Image.frombytes("L", (width * bpp, 1), above), (0, 0))
    sub_rows = ImageChops.subtract_modulo(samples, left).tobytes()
    up_rows = ImageChops.subtract_modulo(samples, up).tobytes()
    row_bytes = width * bpp
    scanlines = []
    for start in range(0, rows * row_bytes, row_bytes):
        sub, upward = sub_rows[start : start + row_bytes], up_rows[start : start + row_bytes]
        scanlines.append(b"\x02" + upward if upward.count(0) > sub.count(0) else b"\x01" + sub)
    return scanlines


def _rle_compressor():
    """Raw deflate, zlib's run-length strategy: the scan and its spliced runs must use the same settings."""
    return zlib.compressobj(6, zlib.DEFLATED, -15, 9, zlib.Z_RLE)


def _deflated_run(raw: bytes) -> bytes:
    """``raw`` as self-contained, byte-aligned, non-final raw deflate blocks."""
    compressor = _rle_compressor()
    return compressor.compress(raw) + compressor.flush(zlib.Z_FULL_FLUSH)


def _adler32_combine(adler1: int, adler2: int, length2: int) -> int:
    """The Adler-32 of two byte strings joined, from each one's checksum (zlib's ``adler32_combine``)."""
    rem = length2 % _ADLER_BASE
    sum1 = adler1 & 0xFFFF
    sum2 = rem * sum1 % _ADLER_BASE
    sum1 = (sum1 + (adler2 & 0xFFFF) + _ADLER_BASE - 1) % _ADLER_BASE
    sum2 = (sum2 + (adler1 >> 16) + (adler2 >> 16) + _ADLER_BASE - rem) % _ADLER_BASE
    return sum1 | sum2 << 16


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))
