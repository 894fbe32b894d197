"""A GIF frame that reaches far past a tiny logical screen is refused before Pillow allocates for it.

Pillow grows a GIF's canvas to every frame it seeks to, and fills a frame's disposal area while seeking:
a 68-byte file made it allocate ~660 MB before any check of ours could run.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from pixelate import Limits, PixelateError, pixelate_bytes
from pixelate.image.structure import gif_canvas_size
from tests.support.hostile_files import claimed_frame, gif_with_second_frame

#: The peak resident memory of the child itself: ru_maxrss would count the pytest process it was forked from.
PEAK_MB = "print(int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) // 1024)"


def test_canvas_size_follows_the_frames():
    data = gif_with_second_frame(claimed_frame(100, 7, 20, 3))
    assert gif_canvas_size(data) == (120, 10)


def test_frame_past_the_screen_over_the_limit_is_too_large():
    data = gif_with_second_frame(claimed_frame(0, 0, 2_000, 2_000))
    with pytest.raises(PixelateError) as caught:
        pixelate_bytes(data, 16, limits=Limits(max_pixels=1_000_000))
    assert caught.value.reason == "too-large", caught.value.message


def test_rejected_without_allocating_for_the_frame():
    """In a fresh process: the peak resident memory stays far below the 13000×13000 frame's 676 MB."""
    data = gif_with_second_frame(claimed_frame(0, 0, 13_000, 13_000))
    script = (
        "import re, sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "from pixelate import PixelateError, pixelate_bytes\n"
        "try:\n"
        "    pixelate_bytes(sys.stdin.buffer.read(), 16)\n"
        "except PixelateError as error:\n"
        "    print(error.reason)\n"
        f"{PEAK_MB}\n"
    )
    run = subprocess.run([sys.executable, "-c", script], input=data, capture_output=True, timeout=60, check=True)
    reason, peak_mb = run.stdout.decode().split()
    assert reason == "too-large"
    assert int(peak_mb) < 200, f"peak {peak_mb} MB"
