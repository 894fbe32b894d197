"""The outcome each corpus image must get (tests/corpus/README.md), shared by the core and handler tests."""
from __future__ import annotations

# file -> (output format, displayed width, height, frames) or the rejection reason
EXPECTED: dict[str, tuple | str] = {
    "hopper.jpg": ("JPEG", 128, 128, 1),
    "hopper.png": ("PNG", 128, 128, 1),
    "hopper.gif": ("GIF", 128, 128, 1),
    "hopper.webp": ("WEBP", 128, 128, 1),
    "hopper.tif": ("TIFF", 128, 128, 1),
    "hopper.bmp": ("BMP", 128, 128, 1),
    "flower.jpg": ("JPEG", 480, 360, 1),
    "pil_sample_cmyk.jpg": ("JPEG", 100, 100, 1),
    "tiff_strip_cmyk_jpeg.tif": ("TIFF", 100, 100, 1),
    "hopper_gray.jpg": ("JPEG", 128, 128, 1),
    "16bit.cropped.tif": ("TIFF", 64, 64, 1),
    "i_trns.png": ("PNG", 64, 64, 1),
    "hopper_orientation_6.jpg": ("JPEG", 128, 128, 1),
    "hopper_orientation_3.webp": ("WEBP", 128, 128, 1),
    "exif_imagemagick_orientation.png": ("PNG", 512, 512, 1),
    "avif_rot1mir0.avif": ("AVIF", 640, 427, 1),
    "exif_gps.jpg": ("JPEG", 8, 8, 1),
    "icc_profile_big.jpg": ("JPEG", 425, 250, 1),
    "sugarshack.mpo": ("JPEG", 640, 480, 1),
    "transparent.png": ("PNG", 200, 150, 1),
    "p_trns_single.png": ("PNG", 64, 64, 1),
    "uncompressed_la.png": ("PNG", 128, 128, 1),
    "1_trns.png": ("PNG", 64, 64, 1),
    "transparent.webp": ("WEBP", 200, 150, 1),
    "bmp_q_rgba32.bmp": ("BMP", 127, 64, 1),
    "avif_transparency.avif": ("AVIF", 64, 64, 1),
    "dispose_bgnd.gif": ("GIF", 100, 100, 5),
    "iss634.gif": ("GIF", 245, 245, 42),
    "iss634.webp": ("WEBP", 245, 245, 42),
    "apng_dispose_op_none.png": ("PNG", 128, 64, 2),  # frames 2 and 3 are identical at 16 px: folded
    "multipage.tiff": ("TIFF", 10, 10, 3),
    "7x13.png": ("PNG", 7, 13, 1),
    "app13.jpg": ("JPEG", 4, 4, 1),
    "broken.png": "corrupt",
    "truncated_jpeg.jpg": "corrupt",
    "truncated_image.png": "corrupt",
    "decompression_bomb.gif": "too-large",
    "bmp_b_reallybig.bmp": "too-large",
    "hopper.psd": "unsupported-format",
}

#: The files a correct service rejects, and why; every other image is pixelated.
REJECTED = {name: reason for name, reason in EXPECTED.items() if isinstance(reason, str)}
