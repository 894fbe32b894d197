"""A TIFF whose directories declare far more strips, tiles or tags than its pages need is refused before Pillow
opens it.

Pillow builds one Python tile per strip offset when it opens a page: a 1×2 grey TIFF whose StripOffsets held
8 million one-byte entries (8 MB) took 45 s and 1.9 GB in ``Image.open``, before any limit of ours could run.
"""
from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from pixelate import pixelate_bytes
from pixelate.image import structure
from tests.support.hostile_files import tiff_of_tiny_pages, tiled_tiff
from tests.support.paths import CORPUS
from tests.support.refusals import refused_before_decoding

BYTE, SHORT, LONG, LONG8 = 1, 3, 4, 16
NUMBER = {BYTE: "B", SHORT: "H", LONG: "L", LONG8: "Q"}


def tiff(pages: list[list[tuple[int, int, int, int]]], blob: bytes = b"", order: str = "<", big: bool = False,
         loop: bool = False) -> bytes:
    """A TIFF (or BigTIFF) of ``pages`` directories of (tag, type, count, value) entries after ``blob``: a value
    that does not fit the entry is an offset into the file (``blob`` starts at ``blob_at(big)``)."""
    head = (b"II" if order == "<" else b"MM") + struct.pack(order + "H", 43 if big else 42)
    head += struct.pack(order + "HHQ", 8, 0, 0) if big else struct.pack(order + "L", 0)
    sizes = [len(directory(entries, order, big, 0)) for entries in pages]
    starts = [len(head) + len(blob) + sum(sizes[:index]) for index in range(len(pages))]
    links = starts[1:] + [starts[0] if loop else 0]
    head = head[: len(head) - (8 if big else 4)] + struct.pack(order + ("Q" if big else "L"), starts[0])
    return head + blob + b"".join(directory(entries, order, big, link) for entries, link in zip(pages, links))


def blob_at(big: bool = False) -> int:
    return 16 if big else 8


def directory(entries, order: str, big: bool, link: int) -> bytes:
    field = 8 if big else 4
    out = struct.pack(order + ("Q" if big else "H"), len(entries))
    for tag, kind, count, value in entries:
        inline = count * struct.calcsize(NUMBER[kind]) <= field
        value_bytes = struct.pack(order + (NUMBER[kind] if inline else "Q" if big else "L"), value).ljust(field, b"\0")
        out += struct.pack(order + ("HHQ" if big else "HHL"), tag, kind, count) + value_bytes
    return out + struct.pack(order + ("Q" if big else "L"), link)


def grey_page(width: int, height: int, offsets: tuple[int, int, int], rows: int | None = None, extra=()) -> list:
    """An uncompressed 8-bit grey page; ``offsets`` is StripOffsets' (type, count, value)."""
    entries = [(256, LONG, 1, width), (257, LONG, 1, height), (258, SHORT, 1, 8), (259, SHORT, 1, 1),
               (262, SHORT, 1, 1), (273, *offsets), (277, SHORT, 1, 1)]
    if rows is not None:
        entries.append((278, LONG, 1, rows))
    return sorted(entries + list(extra))


def strip_flood(count: int, **kwargs) -> bytes:
    """The review's file, smaller: a 1×2 grey page with ``count`` one-byte StripOffsets and no StripByteCounts."""
    big = kwargs.get("big", False)
    return tiff([grey_page(1, 2, (BYTE, count, blob_at(big)), rows=1)], b"\x01" * count, **kwargs)


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("big", [False, True], ids=["tiff", "bigtiff"])
def test_a_flood_of_strip_offsets_is_refused_before_opening(order, big):
    error = refused_before_decoding(strip_flood(20_000, order=order, big=big))
    assert error.reason == "corrupt"
    assert "20,000 strips" in error.message and "needs (2)" in error.message


def test_a_flood_behind_an_empty_entry_of_the_same_tag_is_refused():
    # Pillow skips an entry it cannot read (empty, or out of the file) for the tag's next one: the walk counted the
    # first entry only, and a 2 MB file passed it to take 9.7 s and 516 MB in Pillow (review of the walk)
    empty_first = grey_page(1, 2, (BYTE, 20_000, blob_at()), rows=1, extra=[(273, BYTE, 0, 0)])
    error = refused_before_decoding(tiff([empty_first], b"\x01" * 20_000))
    assert error.reason == "corrupt" and "20,000 strips" in error.message
    # and the size is read from the first entry Pillow can read, not an empty one before it
    sized_later = grey_page(1, 2, (BYTE, 2, blob_at()), rows=1, extra=[(257, LONG, 0, 0)])
    structure.check_structure(tiff([sized_later], b"\x01\x01"), "TIFF")


def test_the_flood_is_refused_on_a_later_page():
    pixels = b"\x80\x80"
    good = grey_page(1, 2, (LONG, 1, 8), extra=[(279, LONG, 1, 2)])
    flood = grey_page(1, 2, (SHORT, 20_000, 8 + len(pixels)), rows=1)
    error = refused_before_decoding(tiff([good, good, flood], pixels + b"\x00" * 40_000))
    assert error.reason == "corrupt" and "page 3" in error.message


def test_a_flood_of_byte_counts_alone_is_refused():
    page = grey_page(1, 2, (LONG, 1, 8), extra=[(279, SHORT, 30_000, 8)])
    assert refused_before_decoding(tiff([page], b"\x01\x00" * 30_000)).reason == "corrupt"


def test_a_flood_of_tiles_is_refused():
    tiles = [(322, LONG, 1, 16), (323, LONG, 1, 16), (324, SHORT, 10_000, 8), (325, SHORT, 10_000, 8)]
    page = sorted([(256, LONG, 1, 32), (257, LONG, 1, 32), (258, SHORT, 1, 8), (259, SHORT, 1, 1), (262, SHORT, 1, 1),
                   (277, SHORT, 1, 1)] + tiles)
    error = refused_before_decoding(tiff([page], b"\x01\x00" * 10_000))
    assert error.reason == "corrupt" and "10,000 tiles" in error.message and "needs (4)" in error.message


def test_strips_a_page_needs_are_counted_from_its_layout():
    """Rows per strip (absent: all rows), and one set of strips per sample when the samples are planar."""
    pages = [grey_page(10, 100, (LONG, 1, 8)),
             grey_page(10, 100, (LONG, 1, 8), rows=7),
             grey_page(10, 100, (LONG, 1, 8), rows=7, extra=[(284, SHORT, 1, 2)])]
    pages[2] = [(277, SHORT, 1, 3) if tag == 277 else (tag, *rest) for tag, *rest in pages[2]]
    walked = list(structure.tiff_pages(tiff(pages)))
    assert [structure.strips_needed(page) for page in walked] == [1, 15, 45]
    assert structure.tiles_needed(walked[0]) == 1000  # no tile size: the walk assumes the most (1×1)


def test_many_strips_in_all_are_too_large(monkeypatch):
    """Strips that each page needs, but too many over the file (a 1-pixel-wide strip per row, page after page)."""
    monkeypatch.setattr(structure, "MAX_TIFF_STRIPS", 1_000)
    page = grey_page(1, 300, (BYTE, 300, 8), rows=1)
    error = refused_before_decoding(tiff([page] * 4, b"\x01" * 300))
    assert error.reason == "too-large" and "1,000 strips" in error.message


def test_a_directory_of_absurdly_many_tags_is_refused():
    tags = [(60_000 + index, SHORT, 1, 0) for index in range(2_000)]
    page = grey_page(1, 2, (LONG, 1, 8), extra=tags)
    error = refused_before_decoding(tiff([page], b"\x80\x80"))
    assert error.reason == "corrupt" and "tags" in error.message


def test_a_loop_of_directories_is_walked_once():
    page = grey_page(2, 2, (LONG, 1, 8), extra=[(279, LONG, 1, 4)])
    data = tiff([page, page], b"\x80" * 4, loop=True)
    assert len(list(structure.tiff_pages(data))) == 2
    structure.check_structure(data, "TIFF")


def test_pages_past_the_walk_cap_are_left_to_the_frame_limit():
    assert len(list(structure.tiff_pages(tiff_of_tiny_pages(structure.MAX_TIFF_PAGES + 50)))) == structure.MAX_TIFF_PAGES


@pytest.mark.parametrize("big", [False, True], ids=["tiff", "bigtiff"])
def test_real_tiffs_pass_the_walk(big):
    for name in ("hopper.tif", "multipage.tiff", "16bit.cropped.tif", "tiff_strip_cmyk_jpeg.tif"):
        structure.check_structure((CORPUS / name).read_bytes(), "TIFF")
    photo = Image.open(CORPUS / "hopper.png").convert("RGB")
    for compression in (None, "tiff_lzw", "jpeg"):
        buffer = io.BytesIO()
        photo.save(buffer, "TIFF", compression=compression, big_tiff=big, save_all=True, append_images=[photo])
        result = pixelate_bytes(buffer.getvalue(), 16)
        assert (result.format, result.width, result.height, result.frames) == ("TIFF", 128, 128, 2)


def test_a_tile_larger_than_the_page_is_one_tile():
    structure.check_structure(tiled_tiff(48, 64), "TIFF")
