"""The demo's uploads and what counts as their expected status (``pixelate.local.demo``)."""
from __future__ import annotations

from pixelate.local import demo
from tests.support.paths import SAMPLES


def test_the_demo_uploads_one_photo_again_with_faces_asked():
    uploads = {upload.key: upload for upload in demo.demo_uploads(SAMPLES)}
    faces = uploads[demo.PREFIX + demo.FACES_KEY]
    assert faces.metadata == {"faces": "true"} and faces.expected_faces
    assert faces.data == (SAMPLES / demo.FACES_SAMPLE).read_bytes()
    assert not any(upload.expected_faces for key, upload in uploads.items() if key != faces.key)


def test_a_faces_upload_is_as_expected_only_when_a_face_was_pixelated():
    upload = next(u for u in demo.demo_uploads(SAMPLES) if u.expected_faces)
    done = {"state": "done", "options": {"pixel_size": 16, "faces": True, "regions": []}}
    assert not demo.as_expected(upload, {**done, "regions": []})
    assert not demo.as_expected(upload, {**done, "regions": [{"x": 0, "y": 0, "w": 8, "h": 8, "source": "manual"}]})
    assert demo.as_expected(upload, {**done, "regions": [{"x": 0, "y": 0, "w": 8, "h": 8, "source": "face", "score": 0.9}]})
