"""The page's copies of the service's numbers and names (pixelate/web/*.js cannot import Python): each read out
of the JavaScript and compared with the value it copies, so that a change on one side fails here, not in a
person's browser (a preview that shows other blocks than the server makes, a limit the server refuses)."""
from __future__ import annotations

import re

from pixelate.image import errors, limits, options, regions
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
