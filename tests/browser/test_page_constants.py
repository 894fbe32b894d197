"""The page's copies of the service's numbers and names (pixelate/web/*.js cannot import Python): each read out
of the JavaScript and compared with the value it copies, so that a change on one side fails here, not in a
person's browser (a preview that shows other blocks than the server makes, a limit the server refuses)."""
from __future__ import annotations

import re

from pixelate.image import errors, limits, options, regions
from tests.support.browser import browser_test, open_page
from tests.support.paths import REPO

WEB = REPO / "pixelate" / "web"


def constant(file: str, name: str) -> str:
    """The value of ``const NAME = value;`` (exported or not) in ``pixelate/web/<file>``."""
    found = re.search(rf"^(?:export )?const {name} = ([^;]+);", (WEB / file).read_text(), re.MULTILINE)
    assert found, f"{file} defines no const {name}"
    return found.group(1).strip()


def test_the_pages_numbers_are_the_services():
    assert int(constant("words.js", "PIXEL_SIZE_DEFAULT")) == limits.DEFAULT_PIXEL_SIZE
    assert int(constant("words.js", "PIXEL_SIZE_MIN")) == limits.MIN_PIXEL_SIZE
    assert int(constant("words.js", "PIXEL_SIZE_MAX")) <= limits.MAX_PIXEL_SIZE  # (the slider stops sooner)
    assert int(constant("areas.js", "MAX_AREAS")) == options.MAX_REGIONS
    assert int(constant("preview.js", "FACE_BLOCKS")) == options.DEFAULT_FACE_BLOCKS
    assert int(constant("preview.js", "FACE_BLOCK_MULTIPLE")) == regions.FACE_BLOCK_MULTIPLE


def test_the_page_words_every_reason_an_image_is_refused_for():
    # a reason missing there would be taken for a failure of the service's own, and offered a retry
    text = constant("words.js", "FAILURE_TEXT")
    worded = set(re.findall(r'^\s*"([a-z-]+)":', text, re.MULTILINE))
    assert worded == set(errors.REASONS)



@browser_test
def test_the_pages_copy_for_finding_faces_is_as_long_as_the_detectors_finest_pass(browser, site):
    """"Find faces" sends a reduced copy: shorter than the finest pass, a panorama's small faces were not looked for
    (its 1344 px copy of 8000×1000 showed a 30 px face at 5 px). The page's function, run in chromium, against the
    detector's ``preview_side``."""
    from pixelate.image.faces import detector

    assert float(constant("faces.js", "MIN_FACE_PX")) == detector.MIN_FACE_PX
    assert float(constant("faces.js", "MIN_FACE_FRACTION")) == detector.MIN_FACE_FRACTION
    assert float(constant("faces.js", "PANORAMA_ASPECT")) == detector.PANORAMA_ASPECT
    assert float(constant("faces.js", "NET_MIN_FACE_PX")) == detector.NET_MIN_FACE_PX
    from pixelate.service import api

    assert constant("faces.js", "DETECT_MAX_BYTES") == "4 * 1024 * 1024" and api.SYNC_MAX_BYTES == 4 * 1024 * 1024
    sizes = [(4032, 3024), (3024, 4032), (6000, 4000), (1920, 1080), (8000, 1000), (1000, 8000), (4000, 1000),
             (12000, 3000), (2000, 1000), (1999, 1000), (33000, 1500), (640, 480), (500, 375)]
    context, page, problems = open_page(browser, site)
    try:
        sent = page.evaluate("""async (sizes) => {
            const faces = await import("./faces.js");
            return sizes.map(([w, h]) => faces.detectLongSide(w, h));
        }""", sizes)
    finally:
        context.close()
    most = int(constant("faces.js", "DETECT_MAX_PIXELS").replace("_", ""))
    for (width, height), side in zip(sizes, sent):
        pixels = width * height * (side / max(width, height)) ** 2
        if pixels < most * 0.999:  # (else as many pixels as the api's answer is sure to take)
            assert side >= detector.preview_side((width, height)) - 1, (width, height, side)
        assert side <= max(width, height) and pixels <= most * 1.001, (width, height, side)
    assert sent[0] == 1344 and sent[4] > 5000  # a 12 MP photo's copy as before; a panorama's as long as its pass
