"""The JPEG fast path: decode at 1/8 in the DCT domain, write a JPEG whose 8×8 blocks are all flat.

A pixelated image with blocks a multiple of 8 pixels has, in every 8×8 DCT block, a single colour. So the work
the output needs is

1. the mean of each 8×8 cell of the input: libjpeg gives exactly that when it decodes at scale 1/8 (its
   1×1 inverse DCT *is* the DC term), skipping the inverse DCT, upsampling and colour conversion of every
   pixel (we keep YCbCr: the output is YCbCr too);
2. the mean of each ``size``×``size`` block: ``Image.reduce(size // 8)`` on the 1/8 image;
3. a baseline JPEG written directly by ``jpeg_writer``: per 8×8 block one DC difference and an end-of-block code.

The writer's rows are independent (a restart marker per MCU row), which lets the coder run *while* libjpeg
decodes (``_encode_while_decoding``): with two CPUs, an upright colour photo's top block rows are coded while
the bottom ones are still being decoded, which hides most of the coder's time (12 MP, block 16: ~23 → ~16 ms
here). Every path writes the same bytes.

``pixelate_jpeg`` returns ``None`` whenever it does not apply or anything is unusual; the pipeline then runs
the general path, which also gives every rejection its reason. A leaf of the image layer: it imports only
the leaves ``limits``, ``orient`` and ``result`` beside it.
"""
from __future__ import annotations

import io

from pixelate.image import orient
from pixelate.image.fast.jpeg_writer import (
    FlatRowCoder,
    assemble_flat_jpeg,
    better_tables,
    encode_flat_jpeg,
    flat_layout,
    flat_tables,
)
from pixelate.image.limits import DEFAULT_LIMITS, Limits, usable_cpus
from pixelate.image.result import Result

#: coding while decoding only pays with two CPUs (on one, the threads take turns and the hand-overs cost ~5 %)
_CPUS = usable_cpus()
#: ... and on photos large enough: below ~3 MP starting a thread and handing rows over cost more than they hide
#: (measured here: 1.26x the plain path's time at 0.3 MP, 1.03x at 2 MP, 0.92x at 5 MP)
STREAM_MIN_PIXELS = 3_000_000
#: Which path is faster when not streamed (``faster_path``), measured with ``python -m pixelate.bench.jpeg_paths``
#: (0.08-12 MP photos, blocks 8-64, fresh processes, interleaved rounds): at 0.3 MP the fast path took 1.32x the
#: general path's time at block 8 and 0.62-0.87x at 16-64; at 0.08 MP 1.1-2x at every block; at block 8, 1.1x
#: at 1 MP, 0.99x at 2 MP, 0.84x and 0.80x at 5 and 12 MP (on one CPU). Re-measured when the rule was committed
#: (0.08-2 MP, blocks 8/16/32): 1.26-1.88x at 0.08 MP, 1.31x at 0.3 MP block 8, 1.02x at 1 MP block 8, 0.89x at
#: 2 MP block 8, 0.42-0.84x elsewhere; the rule chose the faster path in all 12 cells. A coded block costs what
#: ~60 encoded pixels do; the fixed costs ~100,000 pixels' worth.
BLOCK_COST_PIXELS = 60
FIXED_COST_PIXELS = 100_000


# ---------------------------------------------------------------------------------------------- the fast path


def pixelate_jpeg(
    data: bytes, size: int, method: str, limits: Limits | None = None, *, only_if_faster: bool = False
) -> Result | None:
    """Pixelate a JPEG in the DCT domain, or return ``None`` when the general path must do it.

    Applies to baseline and progressive 8-bit YCbCr (4:4:4 or 4:2:0) or greyscale JPEGs whose sides are
    multiples of 8, ``method == "average"``, ``size`` a multiple of 8. Anything else (CMYK, RGB-coded, 4:2:2,
    MPO, damaged, over the limits) returns ``None``: the general path decides and explains.
    ``only_if_faster`` (what the pipeline asks): also ``None`` where the general path is measured faster
    (``faster_path``: small photos, and blocks of 8 below ~1.6 MP).
    """
    if method != "average" or not isinstance(size, int) or size % 8 or size <= 0:
        return None
    limits = limits or DEFAULT_LIMITS
    if len(data) > limits.max_bytes:
        return None
    try:
        opened = _open_drafted(data, size, limits)
        if opened is None:
            return None
        image, orientation = opened
        icc_profile = image.info.get("icc_profile")
        large = image.size[0] * image.size[1] * 64 >= STREAM_MIN_PIXELS  # (drafted: a pixel is an 8×8 cell)
        streamed = orientation == 1 and image.mode == "YCbCr" and _CPUS > 1 and large
        if only_if_faster and not faster_path(image.size[0] * 8, image.size[1] * 8, size, streamed):
            return None
        if streamed:
            jpeg = _encode_while_decoding(image, size, icc_profile, len(data))
        else:
            grid = _block_grid(image, size, orientation)
            jpeg = None if grid is None else encode_flat_jpeg(grid[2], grid[0], grid[1], size, icc_profile)
    except Exception:  # damaged, truncated, unsupported: the general path classifies it
        return None
    if jpeg is None:
        return None
    cells_x, cells_y = orient.upright_size(image.size, orientation)
    return Result(jpeg, "image/jpeg", "JPEG", cells_x * 8, cells_y * 8, 1)


def faster_path(width: int, height: int, size: int, streamed: bool) -> bool:
    """Whether the fast path beats the general path on a width×height JPEG at ``size`` (measured, see below).

    The fast path decodes at 1/8 and codes one DC term per block in Python: it pays per *block*, plus fixed
    costs (sampling the Huffman tables' counts, building them, the headers). The general path decodes at 1/8 too,
    then enlarges the grid and has Pillow encode every *pixel*. Coding one block costs about what encoding
    ``BLOCK_COST_PIXELS`` pixels does; the fixed costs about ``FIXED_COST_PIXELS`` pixels' worth. So the fast path
    wins once ``blocks × BLOCK_COST_PIXELS + FIXED_COST_PIXELS ≤ pixels``: from ~0.13 MP at blocks of 16 and more,
    from ~1.6 MP at blocks of 8 (64 pixels a block: barely more than a block's cost). Streamed (coded on a second
    CPU while the decode runs, from ``STREAM_MIN_PIXELS``) the coder's time is hidden: the fast path always wins.
    """
    if streamed:
        return True
    blocks = -(-width // size) * -(-height // size)
    return blocks * BLOCK_COST_PIXELS + FIXED_COST_PIXELS <= width * height


def decode_block_grid(data: bytes, size: int, limits):
    """(mode, width, height, planes, icc) of the upright image's block means, or ``None`` if not applicable.

    ``planes`` holds one bytes object per component (Y, or Y Cb Cr), one byte per block, rows top to bottom.
    (The decode and block means on their own, without the streaming coder: the benchmark times this part.)
    """
    opened = _open_drafted(data, size, limits)
    if opened is None:
        return None
    image, orientation = opened
    grid = _block_grid(image, size, orientation)
    if grid is None:
        return None
    width, height, planes = grid
    return image.mode, width, height, planes, image.info.get("icc_profile")


def _open_drafted(data: bytes, size: int, limits):
    """(image, EXIF orientation) with libjpeg set to decode at 1/8 in YCbCr or L, or ``None`` if not applicable."""
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
    orientation = orient.read_orientation(image)
    if orientation is None:
        return None  # unreadable EXIF: let the general path decide what it means
    # Both sides must be whole 8×8 cells. A cut cell's DC is the mean of its pixels *and* the encoder's
    # padding (copies of the edge), and reduce() would weigh it as a whole cell: measurably off (3 levels
    # on a one-block image). And with an orientation other than 1 the cut cells would land at the
    # displayed top-left, shifting the grid. Phone photos (4032×3024, 4000×3000, 1920×1080…) are whole.
    if width % 8 or height % 8:
        return None
    mode = "YCbCr" if image.mode == "RGB" else "L"
    cells = (width // 8, height // 8)
    image.draft(mode, cells)
    if image.size != cells or image.mode != mode or image.decoderconfig[:1] != (8,):
        return None
    return image, orientation


def _block_grid(image, size: int, orientation: int):
    """(width, height, planes) of the upright image's block means: decodes the drafted image first."""
    image.load()  # raises on truncation (LOAD_TRUNCATED_IMAGES is False) and on broken data
    small = orient.transpose(image, orientation)  # the 1/8 grid is small: turning it costs nothing
    width, height = small.width * 8, small.height * 8
    planes = _block_planes(small, size // 8)
    if len(planes[0]) != -(-width // size) * -(-height // size):
        return None
    return width, height, planes


def _block_planes(cells, per_block: int) -> tuple[bytes, ...]:
    """The means of per_block×per_block cells (the last row and column may be cut), one plane per component."""
    blocks = cells.reduce(per_block) if per_block > 1 else cells
    return tuple(plane.tobytes() for plane in blocks.split())


def _encode_while_decoding(image, size: int, icc_profile: bytes | None, file_size: int) -> bytes:
    """The flat JPEG of an upright drafted YCbCr image, its block rows coded while libjpeg decodes the rest.

    libjpeg decodes in one call on a worker thread (the call releases the GIL; one call, so the worker never
    waits for the GIL mid-decode), while this thread codes bands of block rows as their cells arrive: the
    coder's ~8 ms at 12 MP, block 16, run beside the ~14 ms decode instead of after it. The Huffman tables
    come from the top half of the block rows (``flat_tables``), so coding starts half-way.

    A row has arrived when its last cell is no longer the zero the buffer was filled with: YCbCr (0, 0, 0)
    lies outside RGB, no camera writes it. Should a file hold it, the rows from there on are coded once the
    decode has ended; should a read race a write, the check at the end (the final grid against the grid
    coded) finds it and the whole grid is coded again from the final one.
    """
    import threading

    from PIL import Image

    cells_x, cells_y = image.size
    per_block = size // 8  # cell rows per block row
    layout = flat_layout(cells_x * 8, cells_y * 8, size, 3)
    image.im = Image.core.fill("YCbCr", image.size, (0, 0, 0))  # load() decodes into it
    image.decodermaxblock = file_size + 1  # the whole file in one decoder call
    failures: list[BaseException] = []

    def decode() -> None:
        try:
            image.load()
        except BaseException as exc:  # reported on this thread, below
            failures.append(exc)

    def band(first_row: int, end_row: int, core=None) -> tuple[bytes, ...]:
        """The block means of block rows [first_row, end_row), one plane per component."""
        box = (0, first_row * per_block, cells_x, min(end_row * per_block, cells_y))
        return _block_planes(Image.Image()._new((core or cells_core).crop(box)), per_block)

    cells_core = image.im
    worker = threading.Thread(target=decode, name="jpeg-decode", daemon=True)
    try:
        worker.start()
    except RuntimeError:  # no thread to be had (a process at its limit): decode here, then code it all
        decode()
    try:
        arrived = 0  # cell rows known to be decoded
        coded_rows, coded, packed, coder = 0, [], [], None
        while coded_rows < layout.rows:
            decoding = worker.is_alive()  # asked before looking, so a finished decode is seen whole
            if not decoding and failures:
                break
            if decoding:
                while arrived < cells_y and cells_core.getpixel((cells_x - 1, arrived)) != (0, 0, 0):
                    arrived += 1
            else:
                arrived = cells_y  # the decode is over: every row is final, (0, 0, 0) cells included
            ready = layout.rows if arrived == cells_y else arrived // per_block
            if coder is None and ready >= layout.table_rows:
                top = band(0, layout.table_rows)
                tables = flat_tables(layout, top)
                coder = FlatRowCoder(layout, tables)
                coded.append(top)
                packed += coder.code(top)
                coded_rows = layout.table_rows
            elif coder is not None and ready > coded_rows:
                planes = band(coded_rows, ready)
                coded.append(planes)
                packed += coder.code(planes)
                coded_rows = ready
            else:
                worker.join(0.0005)  # (returns at once when the decode ends)
    finally:
        if worker.ident is not None:
            worker.join()  # never leave libjpeg writing into the image behind us
    if failures:
        raise failures[0]
    final = band(0, layout.rows, image.im)
    if coder is None or tuple(b"".join(p[i] for p in coded) for i in range(3)) != final:
        return encode_flat_jpeg(final, layout.width, layout.height, size, icc_profile)
    better = better_tables(layout, final, tables)
    if better:  # the top half was a poor sample of the whole: code it all again (rare; see flat_tables)
        return assemble_flat_jpeg(layout, better, FlatRowCoder(layout, better).code(final), icc_profile)
    return assemble_flat_jpeg(layout, tables, packed, icc_profile)


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

    return JpegImagePlugin.get_sampling(image) in (0, 2)  # the rule decode.draft_scale applies too
