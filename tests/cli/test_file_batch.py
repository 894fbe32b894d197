"""`pixelate file` over folders: the walk, the output paths, worker processes, --skip-existing, conflicts.

Real files in tmp_path (photos made with Pillow), the command run through ``pixelate.cli.main`` (one
process, ``-j 1``) and as users run it (``python -m pixelate.cli file``, ``-j 2``: worker processes).
"""
from __future__ import annotations

import fcntl
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from pixelate.cli import batch, main, workers
from pixelate.cli.file import pixelate_file
from pixelate.image.limits import Limits
from pixelate.image.options import Options
from pixelate.image.pipeline import pixelate_bytes
from tests.support.paths import CORPUS, REPO




def jpeg(width: int = 64, height: int = 48, colour=(200, 40, 90)) -> bytes:
    buf = io.BytesIO()
    image = Image.new("RGB", (width, height), colour)
    image.paste((20, 180, 60), (0, 0, width // 2, height // 2))
    image.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def png(width: int = 40, height: int = 30) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (width, height), (10, 120, 250, 128)).save(buf, "PNG")
    return buf.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


#: The walk's order (a folder's files by name, then its sub-folders by name), what each is answered with,
#: and where its output goes below --out-dir.
TREE = [
    ("a.jpg", "ok", "a.pixelated.jpg"),
    ("broken.jpg", "rejected", None),
    ("empty.png", "rejected", None),
    ("notes.txt", "rejected", None),
    ("Day 1/B.JPG", "ok", "Day 1/B.pixelated.JPG"),
    ("Day 1/P.PNG", "ok", "Day 1/P.pixelated.PNG"),
    ("Day 1/sub dir/c.jpeg", "ok", "Day 1/sub dir/c.pixelated.jpeg"),
    ("été/ünï cødé 写真.jpg", "ok", "été/ünï cødé 写真.pixelated.jpg"),
]


@pytest.fixture
def photos(tmp_path) -> Path:
    """A nested tree: spaces, unicode, upper-case extensions, a non-image, a damaged and an empty file, hidden
    entries, an earlier output, and an ``out`` folder (the output folder of the tests) with a photo in it."""
    root = tmp_path / "photos"
    for name, _status, _output in TREE:
        write(root / name, png() if name.lower().endswith(".png") else jpeg())
    write(root / "broken.jpg", jpeg()[:200])
    write(root / "empty.png", b"")
    write(root / "notes.txt", b"not a picture\n")
    write(root / ".hidden.jpg", jpeg())
    write(root / ".thumbnails" / "t.jpg", jpeg())
    write(root / "old.pixelated.jpg", jpeg())
    write(root / "out" / "already.jpg", jpeg())
    return root


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def cli(*args: str, cwd: Path, module: str = "pixelate.cli", **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", module, "file", *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env, **kwargs
    )


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_folder_is_walked_and_mirrored_below_the_out_dir_inside_it(photos, capsys):
    out = photos / "out"
    code = main(["file", str(photos), "--out-dir", str(out), "--json", "-j", "1"])
    found = records(capsys.readouterr().out)

    assert code == 2  # the non-image, the damaged and the empty file
    assert [r["input"] for r in found] == [str(photos / name) for name, _s, _o in TREE]
    assert [r["status"] for r in found] == [status for _n, status, _o in TREE]
    reasons = {Path(r["input"]).name: r["reason"] for r in found if r["status"] == "rejected"}
    assert reasons == {"broken.jpg": "corrupt", "empty.png": "empty", "notes.txt": "unsupported-format"}
    for record, (_name, _status, output) in zip(found, TREE):
        assert record["output"] == (str(out / output) if output else None)
        assert set(record) == {"input", "status", "output", "reason", "message", "format", "width", "height", "frames"}
    # every output where the record says, in the format it says; nothing else written (hidden files, the
    # earlier output and the out folder's own photo were not inputs)
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted(["already.jpg"] + [o for _n, _s, o in TREE if o])
    for record in found:
        if record["status"] == "ok":
            with Image.open(record["output"]) as image:
                assert (image.format, image.size) == (record["format"], (record["width"], record["height"]))
    assert not list(photos.rglob("*.partial"))


def test_worker_processes_give_the_same_lines_and_bytes_as_one_process(photos, tmp_path, capsys):
    main(["file", str(photos), "--out-dir", str(tmp_path / "one"), "--json", "-j", "1", "--size", "6", "--method", "nearest"])
    alone = records(capsys.readouterr().out)
    proc = cli(str(photos), "--out-dir", str(tmp_path / "two"), "--json", "-j", "2", "--size", "6", "--method", "nearest", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    parallel = records(proc.stdout)

    assert [{**r, "output": None} for r in parallel] == [{**r, "output": None} for r in alone]
    assert tree_bytes(tmp_path / "two") == tree_bytes(tmp_path / "one")
    # the options reached the workers: the bytes are those of the library with the same options
    assert (tmp_path / "two" / "a.pixelated.jpg").read_bytes() == pixelate_bytes((photos / "a.jpg").read_bytes(), 6, "nearest").data


def test_without_out_dir_outputs_go_beside_inputs_and_a_second_run_leaves_them_alone(photos, tmp_path):
    (photos / "out").rename(tmp_path / "elsewhere")
    first = cli(str(photos), "--json", "-j", "2", cwd=tmp_path)
    second = cli(str(photos), "--json", "-j", "2", cwd=tmp_path)

    assert first.returncode == second.returncode == 2
    assert [r["output"] for r in records(first.stdout)] == [str(photos / o) if o else None for _n, _s, o in TREE]
    assert records(second.stdout) == records(first.stdout)  # the first run's outputs are not inputs
    assert not list(photos.rglob("*.pixelated.pixelated.*"))


def test_skip_existing_keeps_what_is_there_and_does_the_rest(photos, tmp_path):
    out = tmp_path / "out"
    assert cli(str(photos / "Day 1"), str(photos / "a.jpg"), "--out-dir", str(out), cwd=tmp_path).returncode == 0
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.rglob("*.pixelated.*")}
    (out / "B.pixelated.JPG").unlink()  # an interrupted run had not reached it

    proc = cli(str(photos / "Day 1"), str(photos / "a.jpg"), "--out-dir", str(out), "--skip-existing", "--json", "-j", "2", cwd=tmp_path)

    assert proc.returncode == 0, proc.stderr
    found = {Path(r["input"]).name: r for r in records(proc.stdout)}
    assert {name: r["status"] for name, r in found.items()} == {"B.JPG": "ok", "P.PNG": "skipped", "c.jpeg": "skipped", "a.jpg": "skipped"}
    assert found["P.PNG"]["output"] == str(out / "P.pixelated.PNG") and found["P.PNG"]["reason"] == "output-exists"
    redone = out / "B.pixelated.JPG"
    assert redone.read_bytes() == before.pop(redone)[1]
    assert len(before) == 3
    for path, (mtime, data) in before.items():
        assert (path.stat().st_mtime_ns, path.read_bytes()) == (mtime, data)


def test_glob_filters_folder_files_by_name_or_relative_path_ignoring_case(photos, tmp_path):
    by_name = cli(str(photos), "--glob", "*.jpg", "--out-dir", str(photos / "out"), "--json", cwd=tmp_path)
    by_path = cli(str(photos), "--glob", "day 1/*", "--glob", "*.txt", "--out-dir", str(photos / "out"), "--json", cwd=tmp_path)

    assert [Path(r["input"]).name for r in records(by_name.stdout)] == ["a.jpg", "broken.jpg", "B.JPG", "ünï cødé 写真.jpg"]
    # as in fnmatch, a ``*`` also matches across folders: "day 1/*" is all that lies below Day 1
    assert [Path(r["input"]).name for r in records(by_path.stdout)] == ["notes.txt", "B.JPG", "P.PNG", "c.jpeg"]


def test_two_inputs_with_one_output_are_a_conflict_not_an_overwrite(tmp_path):
    write(tmp_path / "one" / "x.jpg", jpeg(colour=(255, 0, 0)))
    write(tmp_path / "two" / "x.jpg", jpeg(colour=(0, 0, 255)))
    write(tmp_path / "one" / "y.gif", jpeg())  # a JPEG named .gif: its output is y.pixelated.jpg ...
    write(tmp_path / "one" / "y.jpg", jpeg(colour=(0, 255, 0)))  # ... as is this one's

    proc = cli("one", "two", "--out-dir", "out", "--json", "-j", "2", cwd=tmp_path)

    assert proc.returncode == 2, proc.stderr
    found = records(proc.stdout)
    assert [(r["input"], r["status"], r["reason"]) for r in found] == [
        ("one/x.jpg", "ok", None), ("one/y.gif", "ok", None), ("one/y.jpg", "rejected", "output-conflict"),
        ("two/x.jpg", "rejected", "output-conflict"),
    ]
    assert "already the output of one/x.jpg" in found[3]["message"]
    kept = pixelate_bytes((tmp_path / "one" / "x.jpg").read_bytes()).data
    assert (tmp_path / "out" / "x.pixelated.jpg").read_bytes() == kept


def test_an_output_never_overwrites_an_input(tmp_path):
    source = write(tmp_path / "x.jpg", jpeg())
    proc = cli("x.jpg", "-o", "x.jpg", "--json", cwd=tmp_path)
    assert proc.returncode == 2
    assert records(proc.stdout)[0]["reason"] == "output-conflict"
    assert source.read_bytes() == jpeg()


def test_symlinked_folders_are_not_followed_and_symlinked_files_are_read(tmp_path):
    write(tmp_path / "outside" / "far.jpg", jpeg())
    write(tmp_path / "photos" / "a.jpg", jpeg())
    (tmp_path / "photos" / "loop").symlink_to(tmp_path / "photos", target_is_directory=True)
    (tmp_path / "photos" / "away").symlink_to(tmp_path / "outside", target_is_directory=True)
    (tmp_path / "photos" / "link.jpg").symlink_to(tmp_path / "outside" / "far.jpg")
    (tmp_path / "photos" / "dangling.jpg").symlink_to(tmp_path / "nowhere.jpg")
    os.mkfifo(tmp_path / "photos" / "pipe.jpg")  # reading it would wait for ever

    proc = cli("photos", "--out-dir", "out", "--json", cwd=tmp_path)

    assert proc.returncode == 0, proc.stderr
    assert [r["input"] for r in records(proc.stdout)] == ["photos/a.jpg", "photos/link.jpg"]


def test_out_dir_given_by_another_spelling_is_still_skipped(photos):
    proc = cli(".", "--out-dir", str(photos / "out"), "--json", cwd=photos)
    inputs = [r["input"] for r in records(proc.stdout)]
    assert inputs == [f"./{name}" for name, _s, _o in TREE]  # as find(1) names them


def test_a_worker_that_dies_is_an_error_line_for_its_file_alone(tmp_path):
    names = ["a.jpg", "b.jpg", "crash.jpg", "d.jpg", "e raise.jpg", "f.jpg", "g.jpg"]
    for name in names:
        write(tmp_path / "in" / name, jpeg())

    proc = cli("in", "--out-dir", "out", "--json", "-j", "2", cwd=tmp_path, module="tests.support.cli_work")

    assert proc.returncode == 1, proc.stderr
    found = records(proc.stdout)
    assert [r["input"] for r in found] == [f"in/{name}" for name in names]
    statuses = {Path(r["input"]).name: (r["status"], r["reason"]) for r in found}
    assert statuses.pop("crash.jpg") == ("error", "internal-error")
    assert statuses.pop("e raise.jpg") == ("error", "internal-error")
    assert set(statuses.values()) == {("ok", None)}
    assert "worker process died" in found[2]["message"] and "a bug met e raise.jpg" in found[4]["message"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"{Path(n).stem}.pixelated.jpg" for n in names if "crash" not in n and "raise" not in n)


def test_work_that_raises_in_one_process_is_an_error_line_too(tmp_path):
    for name in ("a.jpg", "b raise.jpg", "c.jpg"):
        write(tmp_path / name, jpeg())
    proc = cli("a.jpg", "b raise.jpg", "c.jpg", "--json", "-j", "1", cwd=tmp_path, module="tests.support.cli_work")
    assert proc.returncode == 1
    assert [r["status"] for r in records(proc.stdout)] == ["ok", "error", "ok"]


def test_a_failed_write_leaves_no_partial_file(tmp_path):
    source = write(tmp_path / "a.jpg", jpeg())
    (tmp_path / "taken").mkdir()  # the output path is a folder: the final rename fails
    record = pixelate_file(source, tmp_path / "taken", Options(), Limits())
    assert (record["status"], record["reason"]) == ("rejected", "unwritable")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "taken"]


def test_jobs_default_to_the_usable_cpus_and_must_be_positive(tmp_path, capsys, monkeypatch):
    seen = []
    monkeypatch.setattr(workers, "ordered_results", lambda items, work, workers, crashed: seen.append(workers) or (answer for answer in ()))
    monkeypatch.setattr("pixelate.cli.file.usable_cpus", lambda: 3)
    write(tmp_path / "a.jpg", jpeg())
    main(["file", str(tmp_path / "a.jpg")])
    assert seen == [3]
    with pytest.raises(SystemExit):
        main(["file", str(tmp_path / "a.jpg"), "-j", "0"])
    assert "-j/--jobs" in capsys.readouterr().err


def test_usage_errors(tmp_path, capsys):
    write(tmp_path / "d" / "a.jpg", jpeg())
    assert main(["file", str(tmp_path / "d"), "-o", str(tmp_path / "x.jpg")]) == 2
    assert "-o/--output takes a single input file" in capsys.readouterr().err
    assert main(["file", str(tmp_path / "d"), "--size", "+8"]) == 2  # the one strict parser decides
    assert "pixel size must be a whole number" in capsys.readouterr().err
    assert main(["file", str(tmp_path / "d"), "--glob", "*.png"]) == 2  # a pattern that matches nothing: a typo?
    assert "no file matches --glob '*.png'" in capsys.readouterr().err


def test_a_closed_stdout_stops_the_run_without_a_traceback(tmp_path):
    for index in range(80):
        write(tmp_path / "in" / f"{index:02d}.jpg", jpeg())
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)  # the smallest pipe: 80 lines cannot all wait in it
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "pixelate.cli", "file", "in", "--json", "-j", "2"], cwd=tmp_path,
                            stdout=write_end, stderr=subprocess.PIPE, env=env)
    os.close(write_end)
    with open(read_end, "rb") as reader:
        json.loads(reader.readline())
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert "Traceback" not in stderr


def test_the_planned_name_keeps_an_extension_that_names_the_output_format():
    assert batch.output_name(Path("IMG_1.JPG"), "JPEG") == "IMG_1.pixelated.JPG"
    assert batch.output_name(Path("x.jpeg"), "JPEG") == "x.pixelated.jpeg"
    assert batch.output_name(Path("scan.TIFF"), "TIFF") == "scan.pixelated.TIFF"
    assert batch.output_name(Path("photo.heic"), "JPEG") == "photo.pixelated.jpg"
    assert batch.output_name(Path("photo.gif"), "JPEG") == "photo.pixelated.jpg"
    assert batch.output_name(Path("noext"), "PNG") == "noext.pixelated.png"


def test_corpus_file_of_every_format_keeps_its_format_through_a_folder_run(tmp_path):
    for name in ("hopper.webp", "hopper.tif", "hopper.bmp", "hopper.gif", "sugarshack.mpo"):
        write(tmp_path / "in" / name, (CORPUS / name).read_bytes())
    proc = cli("in", "--out-dir", "out", "--json", "-j", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    found = {Path(r["input"]).name: Path(r["output"]).name for r in records(proc.stdout)}
    assert found == {"hopper.bmp": "hopper.pixelated.bmp", "hopper.gif": "hopper.pixelated.gif",
                     "hopper.tif": "hopper.pixelated.tif", "hopper.webp": "hopper.pixelated.webp",
                     "sugarshack.mpo": "sugarshack.pixelated.jpg"}
    for name in found.values():
        with Image.open(tmp_path / "out" / name) as image:
            assert image.format == {"bmp": "BMP", "gif": "GIF", "tif": "TIFF", "webp": "WEBP", "jpg": "JPEG"}[name.rsplit(".", 1)[1]]


def test_ctrl_c_stops_cleanly_and_skip_existing_resumes(tmp_path):
    """Ctrl-C mid-run, made certain without a clock: the test reads none of the answers, so the command blocks
    once the pipe is full (1,500 JSON lines are ~350 KB, a pipe holds 64 KiB) and its workers stop at their
    window; the run cannot end before the signal, however fast the machine."""
    count = 1500
    photo = jpeg(200, 150)
    for index in range(count):
        write(tmp_path / "in" / f"{index:04d}.jpg", photo)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "pixelate.cli", "file", "in", "--out-dir", "out", "--json", "-j", "2"]
    # Its own process group, as a shell gives a foreground job: Ctrl-C reaches the command and its workers. And
    # SIGINT as a terminal's job has it: a test run started in the background of a script (as CI may be) has it
    # ignored, which every child would inherit (a shell ignores Ctrl-C for its background jobs on purpose).
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    out = tmp_path / "out"
    while proc.poll() is None and not (out.is_dir() and len(list(out.rglob("*.pixelated.jpg"))) >= 20):
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1]
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 130, stderr
    assert b"--skip-existing" in stderr and b"Traceback" not in stderr
    done = sorted(out.iterdir())
    assert 0 < len(done) < count
    assert [p.name for p in done if not p.name.endswith(".pixelated.jpg")] == []  # no partial file left
    expected = pixelate_bytes(photo).data
    assert all(p.read_bytes() == expected for p in done)  # every output there is whole

    resumed = cli("in", "--out-dir", "out", "--json", "-j", "2", "--skip-existing", cwd=tmp_path)
    assert resumed.returncode == 0
    statuses = [r["status"] for r in records(resumed.stdout)]
    assert statuses.count("skipped") == len(done) and statuses.count("ok") == count - len(done)
    assert len(list(out.iterdir())) == count


def test_worker_processes_are_spawned_when_the_caller_runs_threads(tmp_path, capsys):
    """Called from a process with threads (a notebook's kernel, a server), the pool must not fork: the
    workers are spawned, and everything they are sent (the work, the options, the limits) survives pickling."""
    from pixelate.cli import workers

    for name in ("a.jpg", "b.jpg", "c.jpg"):
        write(tmp_path / "in" / name, jpeg())
    stop = threading.Event()
    busy = threading.Thread(target=stop.wait)
    busy.start()
    try:
        assert workers.start_method() == "spawn"
        code = main(["file", str(tmp_path / "in"), "--out-dir", str(tmp_path / "out"), "--json", "-j", "2", "--size", "8"])
    finally:
        stop.set()
        busy.join()
    assert code == 0
    assert [r["status"] for r in records(capsys.readouterr().out)] == ["ok"] * 3
    assert (tmp_path / "out" / "a.pixelated.jpg").read_bytes() == pixelate_bytes(jpeg(), 8).data


def test_an_output_name_that_says_another_format_is_refused_before_anything_is_written(tmp_path, capsys):
    source = tmp_path / "photo.jpg"
    source.write_bytes((CORPUS / "hopper.jpg").read_bytes())
    assert main(["file", str(source), "-o", str(tmp_path / "photo.png")]) == 2
    err = capsys.readouterr().err
    assert "the name says PNG" in err and "written as JPEG" in err and "name it .jpg" in err
    assert not (tmp_path / "photo.png").exists()
    camera = tmp_path / "stereo.mpo"  # MPO (like HEIC) is read, never written: its pixelated copy is a JPEG
    camera.write_bytes((CORPUS / "sugarshack.mpo").read_bytes())
    assert main(["file", str(camera), "-o", str(tmp_path / "out.MPO")]) == 2
    assert "the name says MPO, but a pixelated stereo.mpo is written as JPEG; name it .jpg" in capsys.readouterr().err
    assert main(["file", str(camera), "-o", str(tmp_path / "out.jpg")]) == 0
    # a spelling of the written format, or a name that says no format, is the user's choice
    for name in ("photo-out.JPEG", "photo.out"):
        assert main(["file", str(source), "-o", str(tmp_path / name)]) == 0
        assert (tmp_path / name).read_bytes()[:2] == b"\xff\xd8"
