"""What benchmark.ipynb calls in pixelate.bench: the inputs it picks, the cell-by-cell lines against the tutorial
code, the methods' timings and the JPEG path sweep (timings asserted positive, never against a bound)."""
from __future__ import annotations

import io

from PIL import Image

from pixelate.bench import jpeg_paths, report, workloads
from pixelate.bench.methods import method_timings


def _work(name: str, width: int, height: int, kind: str = "jpeg") -> workloads.Workload:
    return workloads.Workload(name, kind, width, height, 1, b"")


def test_the_photo_series_has_one_jpeg_per_size_smallest_first():
    works = [_work("jpeg-24mp", 6000, 4000), _work("jpeg-2mp", 1632, 1224), _work("jpeg-12mp", 4032, 3024),
             _work("jpeg-12mp-detail", 4032, 3024), _work("png-12mp-alpha", 4032, 3024, "png"),
             _work("gif-anim", 480, 360, "gif")]
    assert [w.name for w in workloads.photo_series(works)] == ["jpeg-2mp", "jpeg-12mp", "jpeg-24mp"]
    # the detail twin first in the list changes nothing: it is never part of the series
    assert [w.name for w in workloads.photo_series(works[3:] + works[:3])] == ["jpeg-2mp", "jpeg-12mp", "jpeg-24mp"]
    quick = [_work("jpeg-1152x864", 1152, 864), _work("jpeg-640x480", 640, 480)]
    assert [w.name for w in workloads.photo_series(quick)] == ["jpeg-640x480", "jpeg-1152x864"]


def test_portraits_and_sized_jpegs_are_made_as_named(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXELATE_BENCH_CACHE", str(tmp_path))
    (small,) = workloads.portrait_workloads(["jpeg-500px-portrait"])
    assert (small.name, small.width, small.height) == ("jpeg-500px-portrait", 500, 375)
    grey = workloads.sized_jpeg_workload(160, 120, grey=True)
    with Image.open(io.BytesIO(grey.data)) as im:
        assert (grey.name, im.format, im.size, im.mode) == ("jpeg-160x120-grey", "JPEG", (160, 120), "L")
    assert workloads.sized_jpeg_workload(160, 120, grey=True).data == grey.data  # cached, the same bytes


def _row(contender: str, ms: float, cpu_ms: float, work: str = "jpeg-640x480", block: int = 8) -> dict:
    return {"workload": work, "block": block, "kind": "jpeg", "contender": contender, "ok": True, "ms": ms,
            "cpu_ms": cpu_ms, "out_bytes": 20480, "out_frames": 1}


def test_versus_tutorial_says_ahead_or_behind_and_why():
    rows = [_row("project", 2.0, 1.9), _row("tutorial", 3.0, 2.9), _row("opencv", 1.5, 1.4),
            _row("project", 5.0, 3.0, block=16), _row("tutorial", 4.0, 3.9, block=16),
            _row("project", 5.0, 4.5, block=32), _row("tutorial", 4.0, 3.9, block=32)]
    lines = report.versus_tutorial(rows, {("jpeg-640x480", 8): "general (1/8 decode)"})
    assert lines[0].startswith("jpeg-640x480 block 8: project 2.0 ms, general (1/8 decode); tutorial 3.0 ms: 1.50× ahead")
    assert "fastest peer opencv 1.5 ms (its output 20.0 KiB, the project's 20.0 KiB)" in lines[0]
    assert lines[1].startswith("jpeg-640x480 block 16:") and "BEHIND" in lines[1]
    assert "in CPU time the project was ahead (3.0 vs 3.9 ms)" in lines[2]
    assert "BEHIND" in lines[3] and "behind in CPU time too (4.5 vs 3.9 ms): 1.0 ms of per-call cost" in lines[4]
    assert lines[5] == "In all: the project ahead of the tutorial code in 1 of 3 cells; a peer faster than the project in 1."
    assert len(lines) == 6


def test_method_timings_give_a_row_per_workload_block_and_method():
    data = (workloads.SAMPLES / "rocket.jpg").read_bytes()
    work = workloads.Workload("rocket", "jpeg", 640, 427, 1, data)
    rows = method_timings([work], [8, 16], ["average", "nearest"], rounds=1)
    assert {(r["block"], r["method"]) for r in rows} == {(8, "average"), (8, "nearest"), (16, "average"), (16, "nearest")}
    assert all(r["ms"] > 0 and r["megapixels"] == 0.27 for r in rows)


def test_the_path_sweep_measures_both_paths_and_names_the_rules_choice(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXELATE_BENCH_CACHE", str(tmp_path))
    rows = jpeg_paths.path_sweep([(320, 240), (1152, 864)], [16], rounds=1, repeats=1)
    assert [(r["workload"], r["rule"]) for r in rows] == [("jpeg-320x240", "general"), ("jpeg-1152x864", "fast")]
    for row in rows:
        assert min(row["fast_ms"], row["general_ms"], row["project_ms"], row["tutorial_ms"]) > 0
        assert row["faster"] in ("fast", "general")
    table = jpeg_paths.format_sweep(rows)
    assert table.splitlines()[0].split()[:3] == ["image", "block", "blocks"] and "jpeg-1152x864" in table
    taken = jpeg_paths.paths_taken([workloads.sized_jpeg_workload(320, 240)], [16])
    assert taken == {("jpeg-320x240", 16): "general (1/8 decode)"}
