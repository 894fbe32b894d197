"""The benchmark runs and its numbers are sane (speed goals live in its output, not in timed tests)."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from pixelate.bench import peers, report, run, workloads


@pytest.fixture(scope="module")
def quick_results():
    return run.run_benchmark(quick=True, rounds=2)


def test_workloads_are_deterministic_and_photo_like(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXELATE_BENCH_CACHE", str(tmp_path))
    first = workloads.photo_jpeg(160, 120, seed=3)
    assert workloads.photo_jpeg(160, 120, seed=3) == first
    with Image.open(io.BytesIO(first)) as im:
        assert (im.format, im.size, im.mode) == ("JPEG", (160, 120), "RGB")
        pixels = np.asarray(im, dtype=float)
    assert 20 < pixels.std() < 100  # a picture, not a flat or random field
    gif = workloads.animated_gif(48, 36, 3)
    with Image.open(io.BytesIO(gif)) as im:
        assert (im.format, im.n_frames) == ("GIF", 3)


def test_exif_orientation_is_put_in_front_without_re_encoding():
    data = workloads.photo_jpeg(160, 120, seed=3)
    turned = workloads.with_exif_orientation(data, 6)
    assert turned.endswith(data[2:])  # the same pixels, byte for byte
    with Image.open(io.BytesIO(turned)) as im:
        assert im.getexif()[0x0112] == 6 and im.size == (160, 120)


def test_fast_path_parts_are_timed_upright_and_turned():
    small = workloads.Workload("jpeg-small", "jpeg", 320, 240, 1, workloads.photo_jpeg(320, 240, seed=4))
    rows = run.coder_comparison(small, blocks=(16,), rounds=1)
    parts = {row["part"]: row["ms"] for row in rows if row["block"] == 16}
    assert set(parts) == {
        "decode at 1/8 + block means", "coder, pure Python", "coder, numpy", "whole fast path, upright",
        "whole fast path, EXIF orientation 6",
    }
    assert all(ms > 0 for ms in parts.values())
    assert rows[-1]["part"] == "import numpy (fresh process)"


def test_quick_run_gives_sane_numbers(quick_results):
    assert {row["workload"] for row in quick_results} == {"jpeg-2mp", "gif-anim-small"}
    for row in quick_results:
        assert row["ok"], row["note"]
        assert row["ms"] > 0 and row["mp_per_s"] > 0 and row["cpu_ms"] > 0
        assert row["out_bytes"] > 1000
        assert row["peak_mib"] is not None and 0 <= row["peak_mib"] < 500
        assert row["error"] is not None and 0 <= row["error"] < 50
    gif = {row["contender"]: row for row in quick_results if row["kind"] == "gif"}
    assert gif["project"]["out_frames"] == 8 and gif["tutorial"]["out_frames"] == 1  # what the tutorial drops
    assert "kept 1 of 8 frames" in gif["tutorial"]["note"]
    # An animation's baseline is the tutorial code run on every frame: same frames out, and the ratios use it.
    assert gif["tutorial-frames"]["out_frames"] == 8 and gif["tutorial-frames"]["speedup_vs_tutorial"] == 1.0
    assert gif["project"]["speedup_vs_tutorial"] == pytest.approx(gif["tutorial-frames"]["ms"] / gif["project"]["ms"], rel=0.02)
    assert gif["tutorial"]["speedup_vs_tutorial"] is None
    assert "tutorial-frames" not in {row["contender"] for row in quick_results if row["kind"] == "jpeg"}
    cell = {row["contender"]: row for row in quick_results if row["kind"] == "jpeg"}
    assert set(cell) >= {"project", "tutorial"}
    # What the benchmark measures must be real: the block mean is exact for the project, one sample per
    # block (the tutorial) is several levels off, and the ratios are the times' ratios.
    assert cell["project"]["error"] <= 1.5
    assert cell["tutorial"]["error"] > 2 * cell["project"]["error"]
    assert cell["tutorial"]["speedup_vs_tutorial"] == 1.0
    assert cell["project"]["speedup_vs_tutorial"] == pytest.approx(cell["tutorial"]["ms"] / cell["project"]["ms"], rel=0.02)


def test_error_metric_is_exact_on_a_known_image():
    pixels = np.zeros((32, 32, 3))
    pixels[:16, :16] = 200
    pixels[5, 5] = 100  # one odd pixel: the block's mean moves by 100/256
    means = run.exact_block_means(pixels, 16)
    assert means[0, 0, 0] == pytest.approx(200 - 100 / 256)
    assert means[20, 20, 0] == 0
    buf = io.BytesIO()
    Image.fromarray(means.round().astype(np.uint8), "RGB").save(buf, "PNG")
    error, frames = run.mean_error(buf.getvalue(), [means])
    assert frames == 1 and error == pytest.approx(np.abs(means.round() - means).mean())


def test_interleaved_timing_takes_medians():
    calls = {"a": lambda: None, "b": lambda: sum(range(20000))}
    cpu = {}
    medians = run.time_interleaved(calls, rounds=3, cpu=cpu)
    assert set(medians) == {"a", "b"} and medians["b"] > medians["a"] >= 0
    assert set(cpu) == {"a", "b"} and cpu["b"] > 0


def test_cpu_time_counts_every_thread():
    import threading

    def spin(seconds):
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass

    def two_threads():  # the calling thread sleeps; the CPU time is the worker's
        worker = threading.Thread(target=spin, args=(0.03,))
        worker.start()
        time.sleep(0.05)
        worker.join()

    cpu = {}
    wall = run.time_interleaved({"two": two_threads}, rounds=1, warmup=0, cpu=cpu)
    assert wall["two"] >= 0.05 and 0.025 <= cpu["two"] < wall["two"]


def test_tutorial_on_every_frame_keeps_the_animation():
    data = workloads.animated_gif(64, 48, 4)
    with Image.open(io.BytesIO(peers.tutorial_frames(data, 8))) as out, Image.open(io.BytesIO(data)) as source:
        assert (out.format, out.size, out.n_frames) == ("GIF", (64, 48), 4)
        assert out.info.get("loop") == source.info.get("loop")
        for index in range(4):
            out.seek(index)
            source.seek(index)
            assert out.info["duration"] == source.info["duration"]
            # the classic code's picture: each 8×8 block one sampled colour of the source frame
            got = np.asarray(out.convert("RGB"), dtype=int)
            assert (got[:8, :8] == got[0, 0]).all() and (got[8:16, 8:16] == got[8, 8]).all()


def test_timing_processes_start_from_the_named_heap(monkeypatch, tmp_path):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "1")  # a tunable in the caller's environment must not leak in
    assert not any(key.startswith("MALLOC_") for key in run.heap_environment("default"))
    warm = run.heap_environment("warm heap")
    assert int(warm["MALLOC_MMAP_THRESHOLD_"]) > 32 << 20 and "MALLOC_ARENA_MAX" not in warm
    path = tmp_path / "in.jpg"
    path.write_bytes(workloads.photo_jpeg(160, 120, seed=2))
    medians, cpu = run.time_in_fresh_process(str(path), 16, ["project", "tutorial"], rounds=2, heap="warm heap")
    assert set(medians) == set(cpu) == {"project", "tutorial"} and all(0 < value < 5 for value in medians.values())
    with pytest.raises(RuntimeError, match="timing process failed"):
        run.time_in_fresh_process(str(tmp_path / "missing.jpg"), 16, ["project"], rounds=1)


def test_heap_regimes_time_every_contender_under_each(monkeypatch, tmp_path):
    monkeypatch.setenv("PIXELATE_BENCH_CACHE", str(tmp_path))
    small = workloads.Workload("jpeg-small", "jpeg", 320, 240, 1, workloads.photo_jpeg(320, 240, seed=4))
    rows = run.heap_regimes(small, size=16, rounds=1, repeats=1)
    assert {row["heap"] for row in rows} == set(run.HEAP_REGIMES)
    for regime in run.HEAP_REGIMES:
        cell = {row["contender"]: row for row in rows if row["heap"] == regime}
        assert {"project", "tutorial"} <= set(cell) and "tutorial-frames" not in cell
        assert cell["tutorial"]["speedup_vs_tutorial"] == 1.0 and cell["project"]["ms"] > 0
    lines = report._heap_lines(rows)
    assert lines[0].startswith("jpeg-small, block 16") and any(line.strip().startswith("warm heap:") for line in lines)


def test_a_cell_slower_than_its_baseline_is_reported():
    def row(contender, ms, frames=8):
        return {"workload": "gif", "block": 16, "kind": "gif", "contender": contender, "ok": True, "ms": ms, "out_frames": frames}

    cell = [row("project", 100), row("tutorial", 3, frames=1), row("tutorial-frames", 250)]
    assert report.other_cells_check(cell) == []  # slower than the one-frame code, faster than the same job
    cell[2]["ms"] = 90
    assert report.other_cells_check(cell) == ["gif block 16: slower than the tutorial code (100 vs 90 ms)"]


def test_peers_pixelate_the_same_grid():
    data = workloads.photo_jpeg(200, 150, seed=1)
    for name in ("project", "tutorial", "libvips", "opencv"):
        if not peers.available().get(name):
            continue
        with Image.open(io.BytesIO(peers.CONTENDERS[name](data, 16))) as im:
            assert (im.format, im.size) == ("JPEG", (200, 150)), name


def test_report_states_goals_and_machine(quick_results):
    machine = report.machine()
    text = report.text_report(quick_results, None, machine)
    assert "project" in text and "tutorial" in text and machine["cpu"] in text
    markdown = report.markdown_report(quick_results, None, machine, quick=True)
    assert markdown.startswith("# Benchmark") and "| workload |" in markdown and machine["date"] in markdown


def test_cli_prints_the_table_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "pixelate.cli", "bench", "--quick", "--rounds", "1", "--no-memory", "--no-cold-start",
         "--blocks", "16", "--workloads", "jpeg-2mp", "--json", str(out)],
        capture_output=True, text=True, timeout=600, check=True,
    )
    assert "jpeg-2mp" in done.stdout and "× tutorial" in done.stdout
    saved = json.loads(out.read_text())
    assert {row["contender"] for row in saved["results"]} >= {"project", "tutorial"}


def test_block_sweep_names_the_path_and_finds_slower_sizes():
    rows = run.block_sweep(names=("jpeg-2mp",), blocks=(9, 10, 16), rounds=1)
    by_block = {row["block"]: row for row in rows}
    assert by_block[16]["path"].startswith("fast") and by_block[10]["path"] == "general (1/2 decode)"
    assert by_block[9]["path"] == "general (full decode)"
    for row in rows:
        assert row["project_ms"] > 0 and row["tutorial_ms"] > 0 and 0 <= row["error"] < 1.5
        assert row["speedup_vs_tutorial"] == round(row["tutorial_ms"] / row["project_ms"], 2) or abs(
            row["speedup_vs_tutorial"] - row["tutorial_ms"] / row["project_ms"]
        ) < 0.05
    lines = report._sweep_lines(rows)
    assert lines[0].startswith("Every block size") and any("block 9:" in line for line in lines)
    slower = [row["block"] for row in rows if row["speedup_vs_tutorial"] < 1]
    assert lines[-1] == ("Slower than the tutorial code at blocks: " + ", ".join(map(str, slower)) if slower
                         else "At least as fast as the tutorial code at every block size.")
