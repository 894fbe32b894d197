"""`pixelate demo` unattended (CI set, no terminal), as `make demo` runs it on a fresh clone."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.support.paths import CORPUS

pytestmark = [pytest.mark.stack, pytest.mark.slow]


def run_demo(cwd: Path, *arguments: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pixelate.cli", "demo", *arguments], cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)


def test_ci_demo_exits_0_with_a_table_and_a_contact_sheet(tmp_path):
    result = run_demo(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = result.stdout
    assert "demo/rocket.jpg" in table and "demo/notes.txt" in table and "unsupported-format" in table
    rocket_row = next(line for line in table.splitlines() if line.strip().startswith("demo/rocket.jpg") and "done" in line)
    assert " 32 " in rocket_row  # the pixel size from its metadata
    # the same photo again with x-amz-meta-faces: its face found and pixelated, the rest of it left as it was
    faces_row = next(line for line in table.splitlines() if line.strip().startswith("demo/astronaut-faces-only.png"))
    assert " done " in faces_row and " faces 1 " in faces_row and faces_row.rstrip().endswith("yes")
    sheet = Image.open(tmp_path / "out" / "demo-contact-sheet.png")
    assert sheet.format == "PNG" and sheet.height > sheet.width
    assert not (tmp_path / ".pixelate" / "stack.json").exists()


def test_ci_demo_exits_non_zero_when_an_upload_does_not_get_its_status(tmp_path):
    samples = tmp_path / "samples"
    samples.mkdir()
    (samples / "looks-like-a-photo.jpg").write_bytes((CORPUS / "truncated_jpeg.jpg").read_bytes())
    result = run_demo(tmp_path, "--samples", str(samples))
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "NO" in result.stdout and "did not get the status" in result.stdout
