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


def grown_canvas(transparent: bool) -> bytes:
    """Two 100×80 frames of colour noise (each its own palette: Pillow composes the second in RGB, over 256
    colours), the second moved 20 px right: Pillow grows the canvas to 120×80 for it."""
    import io

    from PIL import Image

    first, second = (Image.merge("RGB", [Image.effect_noise((100, 80), 90) for _ in "RGB"]) for _ in range(2))
    if transparent:
        frames, save = [first.convert("RGBA"), second.convert("RGBA")], {"transparency": 0}
        frames[0].putpixel((0, 0), (0, 0, 0, 0))
    else:
        frames, save = [first.quantize(256), second.quantize(256)], {}
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, optimize=False, **save)
    data = bytearray(buffer.getvalue())
    descriptor = [i for i in range(len(data)) if data[i] == 0x2C and data[i + 5:i + 9] == bytes([100, 0, 80, 0])][-1]
    data[descriptor + 1:descriptor + 3] = (20).to_bytes(2, "little")
    return bytes(data)


@pytest.mark.parametrize("transparent", [True, False])
@pytest.mark.parametrize("region", [(50, 20, 50, 40), (0.5, 0.25, 0.5, 0.5)])
def test_an_animations_regions_stay_on_the_first_frames_canvas_when_a_frame_grows_it(transparent, region):
    """The frames of an animation share one canvas whose origin does not move: a region is of the first frame's
    and stays where it is. Fractions were taken again of the grown frame (a 10 px strip of the region kept as it
    was), and an opaque GIF raised ValueError ("images do not match") from the encoder, frames of two sizes."""
    import io

    from PIL import Image

    data = grown_canvas(transparent)
    assert Image.open(io.BytesIO(data)).size == (100, 80)
    result = pixelate_bytes(data, 8, regions=[region])
    output = Image.open(io.BytesIO(result.data))
    assert (result.width, result.height, result.frames) == (100, 80, 2)
    output.seek(1)
    after = output.convert("RGB")
    for top in range(20, 60, 8):
        for left in range(50, 100, 8):  # every block of the region, flat (its x 50-60 too: the strip kept before)
            assert len(after.crop((left, top, min(left + 8, 100), top + 8)).getcolors(64)) == 1, (left, top)
    # (the rest of the frame: its 2 × 256 colours quantised again, as any GIF frame of more than 255 colours)


@pytest.mark.parametrize("transparent", [True, False])
def test_with_faces_asked_every_frame_is_on_the_first_frames_canvas_too(transparent):
    """Looking for faces seeks through the frames and back, and Pillow keeps a grown canvas: every frame came out
    120×80, the part past the first canvas included, where a face's box (clipped to that canvas) never reached."""
    import io

    from PIL import Image, ImageSequence

    result = pixelate_bytes(grown_canvas(transparent), 8, faces=True, regions=[(0.5, 0.25, 0.5, 0.5)])
    output = Image.open(io.BytesIO(result.data))
    assert (result.width, result.height) == (100, 80)
    assert [frame.size for frame in ImageSequence.Iterator(output)] == [(100, 80), (100, 80)]


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_an_apng_or_webp_frame_past_its_canvas_is_refused_as_corrupt(fmt):
    """Their readers refuse such a frame themselves (a GIF's grows the canvas): a PixelateError, never another."""
    import io
    import struct
    import zlib

    from PIL import Image

    frames = [Image.effect_noise((100, 80), 90).convert("RGB") for _ in range(2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:], duration=100, lossless=True)
    data = bytearray(buffer.getvalue())
    if fmt == "PNG":  # the second fcTL's x offset: 20
        body = data.find(b"fcTL", data.find(b"fcTL") + 4) + 4
        data[body + 12:body + 16] = struct.pack(">I", 20)
        data[body + 26:body + 30] = struct.pack(">I", zlib.crc32(b"fcTL" + bytes(data[body:body + 26])))
    else:  # the second ANMF's x offset (in 2 px): 10
        frame = data.find(b"ANMF", data.find(b"ANMF") + 4) + 8
        data[frame:frame + 3] = (10).to_bytes(3, "little")
    for options in ({}, {"regions": [(50, 20, 50, 40)]}):
        with pytest.raises(PixelateError) as caught:
            pixelate_bytes(bytes(data), 8, **options)
        assert caught.value.reason == "corrupt"
