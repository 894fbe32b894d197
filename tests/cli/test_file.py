"""`pixelate file`, run as a user runs it: a real process, real files, exit codes and JSON lines."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.support.paths import CORPUS


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pixelate.cli", "file", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_json_lines_and_exit_code_2_when_any_rejected(tmp_path):
    shutil.copy(CORPUS / "hopper.jpg", tmp_path / "photo.gif")  # a JPEG with the wrong extension
    shutil.copy(CORPUS / "hopper.psd", tmp_path / "layers.psd")
    (tmp_path / "empty.png").write_bytes(b"")
    proc = run("photo.gif", "layers.psd", "empty.png", "--out-dir", "out", "--size", "12", "--json", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["status"] for r in records] == ["ok", "rejected", "rejected"]
    ok, psd, empty = records
    assert ok["format"] == "JPEG" and ok["output"].endswith("photo.pixelated.jpg")
    assert (ok["width"], ok["height"], ok["frames"]) == (128, 128, 1)
    assert Image.open(tmp_path / ok["output"]).format == "JPEG"
    assert (psd["reason"], empty["reason"]) == ("unsupported-format", "empty")
    assert all(set(r) == {"input", "status", "output", "reason", "message", "format", "width", "height", "frames"} for r in records)


def test_readable_lines_and_exit_0(tmp_path):
    proc = run(str(CORPUS / "transparent.png"), "-o", str(tmp_path / "x.png"), "--method", "nearest", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "x.png" in proc.stdout and "PNG 200×150" in proc.stdout
    assert Image.open(tmp_path / "x.png").size == (200, 150)


def test_rejection_goes_to_stderr(tmp_path):
    proc = run(str(CORPUS / "broken.png"), "--out-dir", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2
    assert "corrupt" in proc.stderr and proc.stdout == ""


def test_missing_file_is_rejected_not_found_and_the_others_still_run(tmp_path):
    shutil.copy(CORPUS / "hopper.jpg", tmp_path / "a.jpg")
    proc = run("nope.jpg", "a.jpg", "--json", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr  # the user's input, not a crash (1)
    missing, done = map(json.loads, proc.stdout.splitlines())
    assert (missing["status"], missing["reason"], missing["message"]) == ("rejected", "not-found", "no such file or folder: nope.jpg")
    assert done["status"] == "ok" and (tmp_path / "a.pixelated.jpg").exists()
    plain = run("nope.jpg", cwd=tmp_path)
    assert plain.returncode == 2 and plain.stdout == ""
    assert plain.stderr.strip() == "nope.jpg: not-found: no such file or folder: nope.jpg"


def test_bad_option_is_a_usage_error(tmp_path):
    proc = run(str(CORPUS / "hopper.jpg"), "--method", "blur", cwd=tmp_path)
    assert proc.returncode == 2 and "The method must be one of average, nearest, not 'blur'" in proc.stderr
    assert not list(tmp_path.iterdir())


def test_options_are_read_by_the_parser_every_door_uses(tmp_path):
    shutil.copy(CORPUS / "hopper.jpg", tmp_path / "a.jpg")
    assert run("a.jpg", "--method", " Nearest ", "--size", "08", cwd=tmp_path).returncode == 0
    refused = run("a.jpg", "--size", "٨", cwd=tmp_path)  # an Arabic-Indic eight: int() takes it, the parser does not
    assert refused.returncode == 2 and "pixel size must be a whole number" in refused.stderr


def test_a_device_a_pipe_and_a_symlink_loop_are_rejected_each_with_its_reason(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")  # reading it would block for ever
    (tmp_path / "loop.jpg").symlink_to(tmp_path / "loop.jpg")
    shutil.copy(CORPUS / "hopper.jpg", tmp_path / "a.jpg")
    proc = run("/dev/null", "pipe.jpg", "loop.jpg", "a.jpg", "--json", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    device, pipe, loop, done = map(json.loads, proc.stdout.splitlines())
    assert (device["reason"], pipe["reason"], loop["reason"]) == ("not-a-file", "not-a-file", "unreadable")
    assert "symbolic links" in loop["message"] and done["status"] == "ok"


def test_a_file_gone_between_planning_and_its_turn_is_rejected_not_found(tmp_path):
    from pixelate.cli.file import pixelate_file
    from pixelate.image.limits import Limits
    from pixelate.image.options import parse_options

    record = pixelate_file(tmp_path / "gone.jpg", tmp_path / "gone.pixelated.jpg", parse_options(16), Limits())
    assert (record["status"], record["reason"]) == ("rejected", "not-found")
    assert "No such file" in record["message"] and not (tmp_path / "gone.pixelated.jpg").exists()


def test_a_folder_that_cannot_be_listed_is_rejected_unreadable(tmp_path, monkeypatch):
    from pixelate.cli import batch

    (tmp_path / "locked").mkdir()
    shutil.copy(CORPUS / "hopper.jpg", tmp_path / "a.jpg")
    real_scandir = os.scandir

    def scandir(path):  # what a folder without read permission answers (root, which runs CI, can list it)
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)
    monkeypatch.setattr(os, "scandir", scandir)
    locked, done = batch.plan([str(tmp_path / "locked"), str(tmp_path / "a.jpg")])
    assert (locked.outcome.status, locked.outcome.reason) == ("rejected", "unreadable")
    assert "Permission denied" in locked.outcome.message and done.outcome is None


def test_outputs_that_cannot_be_written_there_are_rejected_unwritable_not_internal_errors(tmp_path):
    """-o naming a folder, --out-dir naming a file, a folder where an output goes: the user's to fix (exit 2), with
    no temporary file's name in the message and nothing left behind."""
    shutil.copy(CORPUS / "hopper.jpg", tmp_path / "a.jpg")
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_bytes(b"")
    (tmp_path / "in").mkdir()
    shutil.copy(CORPUS / "hopper.jpg", tmp_path / "in" / "b.jpg")
    (tmp_path / "in" / "b.pixelated.jpg").mkdir()
    for args, says in ((["a.jpg", "-o", "folder"], "a folder has its name"),
                       (["a.jpg", "--out-dir", "file"], "a file stands where a folder of its path should be"),
                       (["a.jpg", "--out-dir", "file/deeper"], "a file stands where a folder of its path should be"),
                       (["in"], "a folder has its name")):
        proc = run(*args, "--json", cwd=tmp_path)
        (record,) = map(json.loads, proc.stdout.splitlines())
        assert proc.returncode == 2 and (record["status"], record["reason"]) == ("rejected", "unwritable"), proc.stdout
        assert says in record["message"] and "partial" not in record["message"]
    assert sorted(p.name for p in tmp_path.rglob("*") if p.name.startswith(".")) == []


def test_limits_from_the_environment_must_be_numbers_and_a_glob_that_matches_nothing_exits_2(tmp_path):
    shutil.copy(CORPUS / "hopper.jpg", tmp_path / "a.jpg")
    for value in ("abc", "-1", "0"):
        proc = subprocess.run([sys.executable, "-m", "pixelate.cli", "file", "a.jpg"], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120, env={**os.environ, "PIXELATE_MAX_BYTES": value})
        assert proc.returncode == 2 and "PIXELATE_MAX_BYTES must be a whole number of at least 1" in proc.stderr
        assert "Traceback" not in proc.stderr
    small = subprocess.run([sys.executable, "-m", "pixelate.cli", "file", "a.jpg"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120, env={**os.environ, "PIXELATE_MAX_PIXELS": "1000"})
    assert small.returncode == 2 and "the limit is 0.001 megapixels" in small.stderr  # (it said 0)
    (tmp_path / "g").mkdir()
    shutil.copy(CORPUS / "hopper.jpg", tmp_path / "g" / "a.jpg")
    typo = run("g", "--glob", "*.jgp", cwd=tmp_path)
    assert typo.returncode == 2 and "no file matches --glob '*.jgp'" in typo.stderr
    (tmp_path / "empty").mkdir()
    assert run("empty", cwd=tmp_path).returncode == 0
