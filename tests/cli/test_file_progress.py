"""The progress bar of `pixelate file`: on stderr when it is a terminal (a real pseudo-terminal here), never on
stdout, silenced by --quiet, absent without tqdm; and tqdm kept out of the Lambda zip."""
from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import tomllib
from pathlib import Path

import pytest
from PIL import Image

from pixelate.deploy.package import runtime_requirements
from tests.support.paths import REPO


@pytest.fixture
def folder(tmp_path) -> Path:
    for index in range(6):
        buf = io.BytesIO()
        Image.new("RGB", (96, 64), (index * 40, 90, 200)).save(buf, "JPEG")
        (tmp_path / "in" / f"sub {index % 2}").mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / f"sub {index % 2}" / f"p{index}.jpg").write_bytes(buf.getvalue())
    (tmp_path / "in" / "readme.txt").write_text("not a photo")
    return tmp_path


def run_on_terminal(args: list[str], cwd: Path, columns: int = 100, python: list[str] | None = None) -> tuple[int, str, str]:
    """Run the command with stderr on a pseudo-terminal of ``columns`` columns (0: one that reports no size)
    and stdout on a pipe; returns the exit code, stdout and what reached the terminal."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    command = (python or [sys.executable, "-m", "pixelate.cli"]) + ["file", *args]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=terminal, env=env)
    os.close(terminal)
    screen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the last holder of the terminal side has gone
            break
        if not chunk:
            break
        screen += chunk
    stdout = proc.stdout.read().decode()
    code = proc.wait(timeout=120)
    os.close(controller)
    return code, stdout, screen.decode(errors="replace")


def test_the_bar_is_on_the_terminal_and_never_on_stdout(folder):
    code, stdout, screen = run_on_terminal(["in", "--out-dir", "out", "--json", "-j", "2"], folder)

    assert code == 2  # readme.txt
    lines = [json.loads(line) for line in stdout.splitlines()]  # every stdout line is a JSON record
    assert len(lines) == 7 and "%|" not in stdout
    # the last state of the bar: all done, one rejected, a rate in bytes per second, the time spent and left
    last = screen.replace("\r\n", "\r").split("\r")
    final = [line for line in last if "7/7 files" in line]
    assert final, screen
    assert "100%|" in final[-1] and "1 rejected" in final[-1] and "B/s" in final[-1] and "<00:00" in final[-1]


def test_a_terminal_that_reports_no_size_still_gets_a_bar(folder):
    code, _stdout, screen = run_on_terminal(["in", "--out-dir", "out", "-j", "1"], folder, columns=0)
    assert code == 2
    assert "7/7 files" in screen and "100%|" in screen
    assert "\rin/readme.txt: unsupported-format" in screen  # a rejection is printed where the bar was lifted off


def test_quiet_silences_the_bar(folder):
    code, stdout, screen = run_on_terminal(["in", "--glob", "*.jpg", "--out-dir", "out", "--quiet"], folder)
    assert code == 0
    assert screen == "" and stdout.count(" -> ") == 6


def test_no_bar_when_stderr_is_not_a_terminal(folder):
    proc = subprocess.run([sys.executable, "-m", "pixelate.cli", "file", "in", "--out-dir", "out"], cwd=folder,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["in/readme.txt: unsupported-format: The file is not an image in a supported "
                                        "format (JPEG, PNG, GIF, WebP, TIFF, BMP, AVIF or HEIC)."]


def test_without_tqdm_the_command_works_without_a_bar(folder):
    hide_tqdm = "import sys; sys.modules['tqdm'] = None; from pixelate.cli import main; sys.exit(main())"
    code, stdout, screen = run_on_terminal(["in", "--glob", "*.jpg", "--out-dir", "out"], folder, python=[sys.executable, "-c", hide_tqdm])
    assert code == 0, screen
    assert screen == "" and stdout.count(" -> ") == 6
    assert len(list((folder / "out").rglob("*.pixelated.jpg"))) == 6


def test_tqdm_is_in_the_cli_extra_and_out_of_the_lambda_zip():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert any(r.startswith("tqdm") for r in project["optional-dependencies"]["cli"])
    assert any("cli" in r for r in project["optional-dependencies"]["dev"] if r.startswith("pixelate["))
    assert not [r for r in runtime_requirements() if r.lower().startswith("tqdm")]
