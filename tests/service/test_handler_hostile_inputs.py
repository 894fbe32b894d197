"""The inputs the review found, through the processing handler on moto: each is answered (a status
record, no batch item failure), so none can become a retry loop ending in the dead-letter queue."""
from __future__ import annotations

import pytest

from pixelate.service import handler
from tests.support.hostile_files import (
    claimed_frame,
    gif_with_second_frame,
    heic_of_two_images,
    tiff_of_tiny_pages,
    tiled_tiff,
)

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

CASES = {
    "two-image.heic": (heic_of_two_images, ("done", None)),
    "grown-frame.gif": (lambda: gif_with_second_frame(claimed_frame(0, 0, 13_000, 13_000)), ("failed", "too-large")),
    "many-pages.tif": (lambda: tiff_of_tiny_pages(5_000), ("failed", "too-many-frames")),
    "huge-tiles.tif": (lambda: tiled_tiff(64, 46_336), ("failed", "too-large")),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input_is_answered_not_retried(pipeline, events, name):
    make, (state, reason) = CASES[name]
    key = f"review/{name}"
    pipeline.put(key, make())
    response = handler.lambda_handler(events.sqs(events.s3(pipeline.originals, key)), None)
    assert response == {"batchItemFailures": []}
    record = pipeline.status(key)
    assert (record["state"], record["reason"]) == (state, reason), record
