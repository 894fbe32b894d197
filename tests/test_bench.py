"""The benchmark runs and its numbers are sane (speed goals live in its output, not in timed tests)."""
from __future__ import annotations

import io
import json
import subprocess
import sys

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


def test_quick_run_gives_sane_numbers(quick_results):
    assert {row["workload"] for row in quick_results} == {"jpeg-2mp", "gif-anim-small"}
    for row in quick_results:
        assert row["ok"], row["note"]
        assert row["ms"] > 0 and row["mp_per_s"] > 0
        assert row["out_bytes"] > 1000
        assert row["peak_mib"] is not None and 0 <= row["peak_mib"] < 500
        assert row["error"] is not None and 0 <= row["error"] < 50
    gif = {row["contender"]: row for row in quick_results if row["kind"] == "gif"}
    assert gif["project"]["out_frames"] == 8 and gif["tutorial"]["out_frames"] == 1  # what the tutorial drops
    assert "kept 1 of 8 frames" in gif["tutorial"]["note"]
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
    medians = run.time_interleaved(calls, rounds=3)
    assert set(medians) == {"a", "b"} and medians["b"] > medians["a"] >= 0


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
