"""Tell an upload's format from its first bytes, against an allow-list.

The key, the extension and the declared Content-Type are never trusted: a file is what its bytes say.
Only the sniffed format's Pillow plugin is allowed to open it (``Image.open(..., formats=[...])``), so a file
that claims to be a GIF cannot reach the PSD, EPS or any other decoder. (Pillow's ``preinit`` imports its BMP,
GIF, PNG and PPM plugins whatever is asked; importing them lets none of them open a file of another format.)
"""
from __future__ import annotations

import importlib

from pixelate.image.errors import PixelateError

#: format name (as Pillow reports it) -> the Pillow plugin module that decodes it
ALLOWED_FORMATS: dict[str, str] = {
    "JPEG": "PIL.JpegImagePlugin",  # MPO files are JPEGs too: Pillow's JPEG opener returns MPO for them
    "PNG": "PIL.PngImagePlugin",
    "GIF": "PIL.GifImagePlugin",
    "WEBP": "PIL.WebPImagePlugin",
    "TIFF": "PIL.TiffImagePlugin",
    "BMP": "PIL.BmpImagePlugin",
    "AVIF": "PIL.AvifImagePlugin",
    "HEIF": "pillow_heif",
}

# ISO base media (HEIF/AVIF) brands, from the `ftyp` box.
_AVIF_BRANDS = {b"avif", b"avis"}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}


def sniff_format(data: bytes) -> str:
    """Return the allowed format of ``data`` from its magic bytes, or raise ``unsupported-format``."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[:2] == b"BM" and len(head) >= 26:
        return "BMP"
    if head[4:8] == b"ftyp":
        brand_box = _ftyp_brands(data)
        if brand_box & _AVIF_BRANDS:
            return "AVIF"
        if brand_box & _HEIF_BRANDS:
            return "HEIF"
    raise PixelateError(
        "unsupported-format",
        "The file is not an image in a supported format (JPEG, PNG, GIF, WebP, TIFF, BMP, AVIF or HEIC).",
    )


def _ftyp_brands(data: bytes) -> set[bytes]:
    """The major and compatible brands of an ISO-BMFF ``ftyp`` box at the start of ``data``."""
    size = int.from_bytes(data[0:4], "big")
    size = max(16, min(size, len(data), 512))
    brands = {data[8:12]}
    brands.update(data[i : i + 4] for i in range(16, size - 3, 4))
    return brands


def load_plugin(fmt: str) -> list[str]:
    """Import the one decoder for ``fmt`` and return the Pillow format names ``Image.open`` may use for it."""
    module = importlib.import_module(ALLOWED_FORMATS[fmt])
    if fmt == "HEIF":
        module.register_heif_opener()
        return ["HEIF"]
    if fmt == "JPEG":
        # The JPEG opener itself turns an MPO into an MpoImageFile; "MPO" has no opener of its own, and naming
        # it made Pillow end every failed JPEG open with KeyError('MPO') instead of "cannot identify".
        importlib.import_module("PIL.MpoImagePlugin")
        return ["JPEG"]
    return [fmt]
