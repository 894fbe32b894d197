"""Every file of the shared corpus through the processing handler on moto, with the outcome its README gives."""
from __future__ import annotations

import pytest

from pixelate.service import handler
from tests.support.corpus_outcomes import REJECTED
from tests.support.paths import CORPUS

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


#: "ordinary photos in each web format: pixelates, same format out"
SAME_FORMAT_OUT = {
    "hopper.jpg": "image/jpeg",
    "flower.jpg": "image/jpeg",
    "hopper.png": "image/png",
    "hopper.gif": "image/gif",
    "hopper.webp": "image/webp",
    "hopper.tif": "image/tiff",
    "hopper.bmp": "image/bmp",
}
IMAGES = sorted(p.name for p in CORPUS.iterdir() if p.suffix.lower() not in (".md",))


def test_the_corpus_is_what_the_readme_describes():
    readme = (CORPUS / "README.md").read_text()
    assert len(IMAGES) == 39
    for name in REJECTED:
        assert name in readme


@pytest.mark.parametrize("name", IMAGES)
def test_corpus_file_through_the_handler(pipeline, events, name):
    key = f"corpus/{name}"
    etag = pipeline.put(key, (CORPUS / name).read_bytes())
    response = handler.lambda_handler(events.sqs(events.s3(pipeline.originals, key)), None)
    assert response == {"batchItemFailures": []}
    record = pipeline.status(key)
    assert record["source"]["version"] == pipeline.version(etag)
    [note] = pipeline.notifications()
    assert note["MessageAttributes"]["state"]["Value"] == record["state"]
    if name in REJECTED:
        assert (record["state"], record["reason"]) == ("failed", REJECTED[name]), record
        assert record["message"] and record["output"] is None
        assert pipeline.head_output(key) is None
        return
    assert record["state"] == "done", record
    head = pipeline.head_output(key)
    assert head["ContentType"] == record["output"]["content_type"]
    assert head["ContentLength"] == record["output"]["bytes"] > 0
    assert record["output"]["width"] > 0 and record["output"]["height"] > 0 and record["output"]["frames"] >= 1
    if name in SAME_FORMAT_OUT:
        assert record["output"]["content_type"] == SAME_FORMAT_OUT[name]
