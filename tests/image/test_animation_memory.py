"""The default limits keep an animation inside the processing function's default 2048 MB.

An APNG's frames are held full size by the core and copied again by Pillow's writer, with several
full-frame temporaries on top: a 3.5 MB APNG of 4 × 49 MP RGBA frames (196 MP, inside the old 200 MP total)
peaked at 2.64 GB, so the function was killed, the message retried and finally dead-lettered. The worst
case the limits now allow, two frames of 50 MP, peaks at about 1.74 GB.
"""
from __future__ import annotations

import struct
import subprocess
import sys
import zlib

import pytest

from pixelate import Limits, PixelateError, pixelate_bytes
from pixelate.image.fast import png_fast

#: The function's default memory less the runtime, its imports and the input held in memory.
BUDGET_MB = 2048 - 150


#: The peak resident memory of the child itself: ru_maxrss would count the pytest process it was forked from.
PEAK_MB = "print(int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) // 1024)"


def apng_claiming(side: int, frames: int) -> bytes:
    """An APNG header claiming ``frames`` RGBA frames of side×side (no frame data: refused from the header)."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    first = struct.pack(">IIIIIHHBB", 0, side, side, 0, 0, 1, 10, 0, 0)  # the default image is frame 1
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            png_fast._chunk(b"IHDR", ihdr),
            png_fast._chunk(b"acTL", struct.pack(">II", frames, 0)),
            png_fast._chunk(b"fcTL", first),
            png_fast._chunk(b"IDAT", zlib.compress(b"")),
            png_fast._chunk(b"IEND", b""),
        ]
    )


def test_four_frames_of_49_megapixels_are_refused():
    with pytest.raises(PixelateError) as caught:
        pixelate_bytes(apng_claiming(7000, 4), 16)
    assert caught.value.reason == "too-many-frames"


def test_the_default_total_allows_two_full_frames():
    assert Limits().max_total_pixels >= 2 * Limits().max_pixels


@pytest.mark.slow
def test_the_worst_animation_the_defaults_allow_fits_the_function():
    # Build the file in one process and pixelate it in another, so the peak measured is the core's alone.
    build = (
        "import sys\n"
        "from PIL import Image\n"
        "side = 7071  # 50 MP\n"
        "frames = [Image.new('RGBA', (side, side), (40 * i, 100, 200, 128 + i)) for i in range(2)]\n"
        "frames[0].save(sys.stdout.buffer, 'PNG', save_all=True, append_images=frames[1:], duration=100, compress_level=1)\n"
    )
    built = subprocess.run([sys.executable, "-c", build], capture_output=True, timeout=120, check=True)
    measure = (
        "import re, sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "from pixelate import pixelate_bytes\n"
        "result = pixelate_bytes(sys.stdin.buffer.read(), 16)\n"
        f"print(result.frames, end=' ')\n{PEAK_MB}\n"
    )
    run = subprocess.run([sys.executable, "-c", measure], input=built.stdout, capture_output=True, timeout=120, check=True)
    frames, peak_mb = map(int, run.stdout.split())
    assert frames == 2
    assert peak_mb < BUDGET_MB, f"peak {peak_mb} MB"
