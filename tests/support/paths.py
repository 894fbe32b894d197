"""Where the tests find the repository's files: the corpus of real-world images, the samples, the docs."""
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]
REPO = TESTS_DIR.parent
CORPUS = TESTS_DIR / "corpus"
SAMPLES = REPO / "samples"
