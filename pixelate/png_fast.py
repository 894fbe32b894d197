"""PNG fast paths: decoding with a faster inflate, and writing block-flat images without re-filtering them.

Decoding. Pillow's wheels inflate PNG data with their own zlib (1.2.13): at 12 MP that inflate is ~240 of
Pillow's ~300 ms. ISA-L's inflate (``isal``) is ~2.5× faster, and both it and Pillow's decoder release
the GIL, so one thread inflates while Pillow's own PNG decoder unfilters what is already inflated, fed as
*stored* deflate blocks. Pillow still does all the PNG work (filters, unpacking), so pixels are identical.

Writing. A pixelated image is flat blocks. With PNG's Sub filter on a block row's first scanline and Up
on the rest, every filtered byte is zero except one pixel per block, so the writer filters one scanline
per block row (computed from the grid, one pixel per block) and deflates the identical all-zero Up
scanlines once, reusing the compressed bytes for every block row. Nothing of the enlarged image is made.

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

from PIL import Image, ImageChops

#: modes the writer handles (8 bits per sample), and bytes per pixel
_MODES = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}
_PNG_COLOUR_TYPE = {"L": 0, "LA": 4, "RGB": 2, "RGBA": 6}
#: raw bytes inflated per step: small enough to overlap inflating with unfiltering, large enough to be cheap
_STEP = 1 << 20
_STORED_MAX = 0xFFFF
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
    compressed = _idat_data(image.fp, offset)
    if compressed is None:
        return None
    out = Image.new(image.mode, image.size)
    try:
        decoder = Image._getdecoder(image.mode, "zip", (rawmode, 0))  # what Pillow's own load() makes
        decoder.setimage(out.im, (0, 0, width, height))
    except Exception:  # a Pillow without these internals
        return None
    pieces: queue.Queue = queue.Queue(maxsize=4)  # bounds what is inflated ahead of the unfilter
    stop = threading.Event()
    worker = threading.Thread(
        target=_inflate_stored, args=(isal_zlib, compressed, expected, pieces, stop), daemon=True
    )
    worker.start()
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


def _idat_data(fp, offset: int) -> list[bytes] | None:
    """The data of the consecutive IDAT chunks starting at ``offset`` (CRCs are skipped, as Pillow does)."""
    try:
        fp.seek(offset - 8)
        chunks = []
        while True:
            head = fp.read(8)
            if len(head) < 8 or head[4:] != b"IDAT":
                break
            (length,) = struct.unpack(">I", head[:4])
            body = fp.read(length)
            if len(body) < length:
                break
            chunks.append(body)
            fp.read(4)
        return chunks or None
    except (OSError, ValueError, AttributeError):
        return None


#: chunks after the image data that Pillow reads EXIF orientation from (directly, or in text and XMP)
_LATE_METADATA = {b"eXIf", b"tEXt", b"zTXt", b"iTXt"}


def has_late_metadata(image: Image.Image) -> bool:
    """Whether an opened PNG has EXIF or text chunks after its image data, where Pillow only finds them by
    decoding every pixel first (``PngImageFile.getexif`` loads the image). Unreadable counts as yes."""
    try:
        image.fp.seek(image.tile[0][2] - 8)
        seen_idat = False
        while len(head := image.fp.read(8)) == 8:
            (length,), kind = struct.unpack(">I", head[:4]), head[4:]
            if kind == b"IDAT":
                seen_idat = True
            elif kind == b"IEND":
                return False
            elif seen_idat and kind in _LATE_METADATA:
                return True
            image.fp.seek(length + 4, 1)
        return False
    except Exception:
        return True


def _inflate_stored(isal_zlib, compressed: list[bytes], expected: int, pieces: queue.Queue, stop: threading.Event) -> None:
    """Inflate ``compressed`` and put it on ``pieces`` as a zlib stream of stored blocks, then ``None``.

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
    if grid.mode not in _MODES or "transparency" in grid.info:
        return None
    width, height = output_size
    bpp = _MODES[grid.mode]
    row_bytes = width * bpp
    sub_rows = _sub_filtered_rows(grid, size, width, bpp)
    # One scanline per block row carries the colours; the rest are "same as above": all zero.
    up_row = b"\x02" + bytes(row_bytes)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15, 9, zlib.Z_RLE)
    body, adler = [], 1
    up_cache: dict[int, tuple[bytes, int]] = {}
    for index in range(grid.height):
        top = index * size
        rows = min(size, height - top)
        scanline = b"\x01" + sub_rows[index * row_bytes : (index + 1) * row_bytes]
        body.append(compressor.compress(scanline))
        adler = zlib.adler32(scanline, adler)
        if rows > 1:
            # A full flush byte-aligns the stream and forgets the window, so the self-contained Up run can
            # be spliced in between: the compressor never refers back into it.
            body.append(compressor.flush(zlib.Z_FULL_FLUSH))
            if rows not in up_cache:
                up_cache[rows] = _deflated_run(up_row * (rows - 1))
            deflated, run_adler = up_cache[rows]
            body.append(deflated)
            adler = _adler32_combine(adler, run_adler, len(up_row) * (rows - 1))
    body.append(compressor.flush(zlib.Z_FINISH))
    idat = b"\x78\x01" + b"".join(body) + struct.pack(">I", adler)
    header = struct.pack(">IIBBBBB", width, height, 8, _PNG_COLOUR_TYPE[grid.mode], 0, 0, 0)
    chunks = [_chunk(b"IHDR", header)]
    if icc_profile:
        chunks.append(_chunk(b"iCCP", b"ICC Profile\0\0" + zlib.compress(icc_profile)))
    chunks += [_chunk(b"IDAT", idat), _chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def _sub_filtered_rows(grid: Image.Image, size: int, width: int, bpp: int) -> bytes:
    """Each block row's first scanline, Sub-filtered: the first pixel of every block as the difference
    from the block to its left (modulo 256), zero elsewhere. One row per block row, all rows joined."""
    strip = grid.resize((width, grid.height), Image.Resampling.NEAREST, box=(0, 0, width / size, grid.height))
    # Byte arithmetic is the same for every mode: view the samples as one wide greyscale image.
    samples = Image.frombytes("L", (width * bpp, grid.height), strip.tobytes())
    left = ImageChops.offset(samples, bpp, 0)
    left.paste(0, (0, 0, bpp, grid.height))  # the first pixel's left neighbour is zero
    return ImageChops.subtract_modulo(samples, left).tobytes()


def _deflated_run(raw: bytes) -> tuple[bytes, int]:
    """``raw`` as self-contained, byte-aligned, non-final raw deflate blocks, and its Adler-32."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15, 9, zlib.Z_RLE)
    return compressor.compress(raw) + compressor.flush(zlib.Z_FULL_FLUSH), zlib.adler32(raw)


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
