"""The fast path's JPEGs decode in a browser as they do in Pillow (Debian chromium through Playwright).

The page loads each JPEG from a data: URL, draws it on a canvas and hands back the pixels. Block centres
must match Pillow's decode (edges may differ by the browser's chroma upsampling).
"""
from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from pixelate.image.fast import jpeg_dc

pytestmark = [pytest.mark.browser]

READ_PIXELS = """async (src) => {
  const img = new Image();
  img.src = src;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d', {colorSpace: 'srgb'});
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  return {width: canvas.width, height: canvas.height, rgba: Array.from(data)};
}"""


def samples() -> list[tuple[bytes, int]]:
    rng = np.random.default_rng(3)
    coarse = rng.integers(30, 226, size=(6, 8, 3), dtype=np.uint8)
    photo = Image.fromarray(coarse, "RGB").resize((200, 152), Image.Resampling.BICUBIC)
    out = []
    for image, size in ((photo, 16), (photo, 24), (photo.convert("L"), 8)):
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=92)
        out.append((jpeg_dc.pixelate_jpeg(buf.getvalue(), size, "average", None).data, size))
    return out


def test_chromium_decodes_fast_path_output(browser):
    # `browser`: the session's chromium (tests/browser/conftest.py); one Playwright per process, so that this
    # test and the page's tests can run in the same session.
    page = browser.new_page()
    try:
        page.set_content("<!doctype html><title>decode</title>")
        for data, size in samples():
            got = page.evaluate(READ_PIXELS, "data:image/jpeg;base64," + base64.b64encode(data).decode())
            with Image.open(io.BytesIO(data)) as im:
                reference = np.asarray(im.convert("RGB"), dtype=int)
            assert (got["width"], got["height"]) == (reference.shape[1], reference.shape[0])
            pixels = np.array(got["rgba"], dtype=int).reshape(got["height"], got["width"], 4)[..., :3]
            centres = (slice(size // 2, None, size), slice(size // 2, None, size))
            assert np.abs(pixels[centres] - reference[centres]).max() <= 2
    finally:
        page.close()
