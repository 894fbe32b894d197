"""Run the benchmark: every contender on every workload and block size, bytes in to bytes out.

Timing: one fresh process per cell (workload × block), which runs every contender in interleaved rounds
(each round runs every contender once, in a rotating order, so drifts in machine load hit all alike), one
warm-up round, medians. A fresh process because glibc's malloc adapts to what the process freed before: a
large free (the error computation's numpy arrays, say) raises its mmap and trim thresholds, after which
Pillow's 16 MiB image blocks are reused from the heap instead of being mapped and faulted in anew. That
alone moved the tutorial code from ~95 to ~65 ms on the 12 MP JPEG, depending on what ran before it in a
long run. Each cell now starts from the state of a process doing only this work, under glibc's defaults
(``MALLOC_*`` tunables are removed from the child's environment); ``heap_regimes`` measures the headline
cell with a warm heap as well. Memory: the peak resident set a single
call adds, in a fresh process per contender and workload (``ru_maxrss`` after the call minus before it,
imports and input already in memory). Error: the mean absolute difference, per channel and pixel, between
the decoded output and the exact block mean of the fully decoded input (numpy, float64); with alpha the
colours are compared premultiplied, as they are seen; animations frame by frame (a contender that drops
frames is scored on the frames it kept, and the table says how many).

``run_benchmark(quick=True)`` is what CI and the notebook call; ``pixelate bench`` prints the table.
"""
from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Callable, Iterable

from pixelate.bench import peers
from pixelate.bench.workloads import Workload, all_workloads

BLOCKS = (8, 10, 16, 32)
QUICK_BLOCKS = (16,)
HEADLINE = ("jpeg-12mp", 16)


# ---------------------------------------------------------------------------------------------- timing


def time_interleaved(
    calls: dict[str, Callable[[], object]], rounds: int, warmup: int = 1, cpu: dict[str, float] | None = None
) -> dict[str, float]:
    """Median seconds of each call, over ``rounds`` rounds that each run every call once (rotating order).

    ``cpu``, if given, receives each call's median CPU seconds (all the process's threads): more than its
    wall time where a call works on two threads at once.
    """
    names = list(calls)
    samples: dict[str, list[float]] = {name: [] for name in names}
    cpu_samples: dict[str, list[float]] = {name: [] for name in names}
    for index in range(warmup + rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            start, start_cpu = time.perf_counter(), time.process_time()
            calls[name]()
            elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
            if index >= warmup:
                samples[name].append(elapsed)
                cpu_samples[name].append(elapsed_cpu)
    if cpu is not None:
        cpu.update({name: statistics.median(values) for name, values in cpu_samples.items()})
    return {name: statistics.median(values) for name, values in samples.items()}


_TIMING_SCRIPT = r"""
import json, sys
from pixelate.bench import peers
from pixelate.bench.run import time_interleaved

path, size, names, rounds = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), int(sys.argv[4])
with open(path, "rb") as source:
    data = source.read()
calls = {name: (lambda f=peers.CONTENDERS[name]: f(data, size)) for name in names}
cpu = {}
print(json.dumps({"wall": time_interleaved(calls, rounds, cpu=cpu), "cpu": cpu}))
"""

#: glibc malloc settings a timing process can run under. "default": the C library's own, whose mmap
#: threshold adapts to what is freed; "warm heap": thresholds pinned high, so freed image memory stays in the
#: heap and is reused without page faults (what a long-lived process can drift into, or be tuned to).
HEAP_REGIMES = {
    "default": {},
    "warm heap": {"MALLOC_MMAP_THRESHOLD_": str(64 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20)},
}


def heap_environment(heap: str) -> dict[str, str]:
    """This process's environment without glibc's ``MALLOC_*`` tunables, plus those of the named regime."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_")}
    env.update(HEAP_REGIMES[heap])
    return env


def time_in_fresh_process(
    path: str, size: int, names: Iterable[str], rounds: int, heap: str = "default"
) -> tuple[dict[str, float], dict[str, float]]:
    """``time_interleaved`` of the named contenders on the file at ``path``, in a new Python process:
    (median wall seconds, median CPU seconds) per contender."""
    done = subprocess.run(
        [sys.executable, "-c", _TIMING_SCRIPT, path, str(size), ",".join(names), str(rounds)],
        capture_output=True, text=True, env=heap_environment(heap), timeout=1800,
    )
    if done.returncode:
        raise RuntimeError(f"timing process failed: {done.stderr.strip()[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["wall"], report["cpu"]


# ---------------------------------------------------------------------------------------------- error


def _frames_rgba(data: bytes):
    """Every frame of an encoded image as float64 premultiplied RGBA (or RGB when it has no alpha)."""
    import numpy as np
    from PIL import Image, ImageSequence

    frames = []
    with Image.open(io.BytesIO(data)) as image:
        alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        for frame in ImageSequence.Iterator(image):
            if alpha:
                rgba = np.asarray(frame.convert("RGBA"), dtype=np.float64)
                rgba[..., :3] *= rgba[..., 3:] / 255.0
                frames.append(rgba)
            else:
                frames.append(np.asarray(frame.convert("RGB"), dtype=np.float64))
    return frames


def exact_block_means(pixels, size: int):
    """Every pixel replaced by the exact mean of its size×size block (partial blocks at right and bottom);
    ``pixels`` is height × width, with or without a band axis."""
    import numpy as np

    height, width = pixels.shape[:2]
    rows, cols = -(-height // size), -(-width // size)
    pad = ((0, rows * size - height), (0, cols * size - width))
    sums = np.pad(pixels, pad + ((0, 0),) * (pixels.ndim - 2)).reshape(rows, size, cols, size, *pixels.shape[2:]).sum(axis=(1, 3))
    counts = np.pad(np.ones((height, width)), pad).reshape(rows, size, cols, size).sum(axis=(1, 3))
    means = sums / (counts if pixels.ndim == 2 else counts[..., None])
    return np.repeat(np.repeat(means, size, axis=0), size, axis=1)[:height, :width]


def mean_error(output: bytes, references: list) -> tuple[float | None, int]:
    """(mean absolute error against the reference frames, frames in the output)."""
    import numpy as np

    frames = _frames_rgba(output)
    errors = []
    for got, want in zip(frames, references):
        if got.shape != want.shape:
            if got.shape[:2] != want.shape[:2]:
                return None, len(frames)
            # one has alpha, the other not (JPEG has none): compare colours
            got, want = got[..., :3], want[..., :3]
        errors.append(float(np.abs(got - want).mean()))
    return (float(np.mean(errors)) if errors else None), len(frames)


# ---------------------------------------------------------------------------------------------- memory

_MEMORY_SCRIPT = r"""
import json, sys
from pixelate.bench import peers


def status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])


name, path, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(path, "rb").read()
# import what the call imports (and nothing more), so the delta is the work, not the libraries
peers.warm_imports(name)
# The high-water mark starts at the resident set now: ru_maxrss would carry the parent's peak over
# fork/exec, and the imports' own peak would hide a smaller call.
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")
before = status_kib("VmRSS")
out = peers.CONTENDERS[name](data, size)
after = status_kib("VmHWM")
print(json.dumps({"before_kib": before, "after_kib": after, "out": len(out)}))
"""


def peak_memory_mib(name: str, path: str, size: int) -> float | None:
    """Peak RSS one call adds, in a fresh process (MiB), or None if the run failed."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _MEMORY_SCRIPT, name, path, str(size)],
            capture_output=True, text=True, env=heap_environment("default"), timeout=300, check=True,
        )
        report = json.loads(done.stdout.strip().splitlines()[-1])
    except Exception:
        return None
    return (report["after_kib"] - report["before_kib"]) / 1024


# ---------------------------------------------------------------------------------------------- the run


def run_benchmark(
    quick: bool = True,
    blocks: Iterable[int] | None = None,
    rounds: int | None = None,
    contenders: Iterable[str] | None = None,
    memory: bool = True,
    workloads: list[Workload] | None = None,
    progress: Callable[[str], None] | None = None,
    processes: int = 1,
) -> list[dict]:
    """Benchmark every contender on every workload and block size; one dict per (workload, block, contender).

    ``quick``: the 2 MP JPEG and a small GIF, block 16, 3 rounds (seconds, for CI); otherwise the full set.
    ``processes``: fresh timing processes per cell; each contender's time is the median of their medians (a
    burst of load from elsewhere that outlasts one process's rounds then moves one of them, not the figure).
    Keys: workload, kind, width, height, frames, megapixels, in_bytes, block, contender, ms (wall), cpu_ms (CPU
    time, all threads), mp_per_s, out_bytes, out_frames, error, peak_mib, speedup_vs_tutorial,
    time_vs_fastest_peer, fastest_peer, ok, note.
    """
    import numpy as np  # noqa: F401  (the error needs it; fail early if the bench extra is missing)

    workloads = workloads if workloads is not None else all_workloads(quick=quick)
    blocks = tuple(blocks or (QUICK_BLOCKS if quick else BLOCKS))
    rounds = rounds or (3 if quick else 7)
    names = _installed(contenders or peers.CONTENDERS)
    say = progress or (lambda message: None)
    results: list[dict] = []
    for work in workloads:
        path = spill(work)  # the fresh timing and memory processes read the input from a file
        pixels = _frames_rgba(work.data)
        here = names if work.frames > 1 else _installed(names, still=True)
        for size in blocks:
            say(f"{work.name} block {size}")
            references = [exact_block_means(frame, size) for frame in pixels]
            outputs, notes = {}, {}
            for name in here:
                try:
                    outputs[name] = peers.CONTENDERS[name](work.data, size)
                except Exception as exc:  # a peer that cannot do this workload: reported, not fatal
                    notes[name] = f"{type(exc).__name__}: {exc}"[:120]
            medians, cpu = _time_cell(path, size, list(outputs), rounds, processes) if outputs else ({}, {})
            rows = []
            for name in here:
                row = {
                    "workload": work.name, "kind": work.kind, "width": work.width, "height": work.height,
                    "frames": work.frames, "megapixels": round(work.megapixels, 2), "in_bytes": len(work.data), "block": size,
                    "contender": name, "ok": name in medians, "note": notes.get(name, ""),
                    "ms": None, "cpu_ms": None, "mp_per_s": None, "out_bytes": None, "out_frames": None, "error": None, "peak_mib": None,
                }
                if name in medians:
                    seconds = medians[name]
                    error, out_frames = mean_error(outputs[name], references)
                    row.update(
                        ms=round(seconds * 1000, 1),
                        cpu_ms=round(cpu[name] * 1000, 1),
                        mp_per_s=round(work.megapixels / seconds, 1),
                        out_bytes=len(outputs[name]),
                        out_frames=out_frames,
                        error=None if error is None else round(error, 2),
                    )
                    if out_frames < work.frames:
                        row["note"] = f"kept {out_frames} of {work.frames} frames"
                    if memory and (size == 16 or len(blocks) == 1):
                        row["peak_mib"] = _round(peak_memory_mib(name, path, size))
                rows.append(row)
            _add_ratios(rows)
            results.extend(rows)
    return results


def _time_cell(path: str, size: int, names: list[str], rounds: int, processes: int):
    runs = [time_in_fresh_process(path, size, names, rounds) for _ in range(max(1, processes))]
    return tuple({name: statistics.median(run[part][name] for run in runs) for name in names} for part in (0, 1))


def baseline_row(rows: list[dict]) -> dict | None:
    """The cell's tutorial-code row that does the same job: on an animation, the one run on every frame."""
    by_name = {row["contender"]: row for row in rows if row["ok"]}
    return by_name.get("tutorial-frames") or by_name.get("tutorial")


def _installed(names, still: bool = False) -> list[str]:
    """The named contenders whose libraries are installed (``still``: without those only animations run)."""
    versions = peers.available()
    return [name for name in names if versions.get(name) and not (still and name in peers.ANIMATION_ONLY)]


def _add_ratios(rows: list[dict]) -> None:
    """Each row's speed-up over the tutorial code (``baseline_row``) and time relative to the fastest peer."""
    by_name = {row["contender"]: row for row in rows if row["ok"]}
    tutorial = baseline_row(rows)
    # On an animation the baseline is tutorial-frames: the one-frame tutorial row gets no ratio.
    unrated = "tutorial" if tutorial and tutorial["contender"] != "tutorial" else None
    timed_peers = [by_name[n] for n in peers.PEERS if n in by_name]
    fastest = min(timed_peers, key=lambda row: row["ms"]) if timed_peers else None
    for row in rows:
        rated = row["ok"] and tutorial and row["contender"] != unrated
        row["speedup_vs_tutorial"] = round(tutorial["ms"] / row["ms"], 2) if rated else None
        row["time_vs_fastest_peer"] = round(row["ms"] / fastest["ms"], 2) if row["ok"] and fastest else None
        row["fastest_peer"] = fastest["contender"] if fastest else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def spill(work: Workload) -> str:
    """The workload as a file (for the fresh processes that time and measure memory)."""
    from pixelate.bench.workloads import cache_dir

    path = cache_dir() / f"{work.name}{peers.EXTENSIONS[work.kind]}"
    if not path.exists() or path.read_bytes() != work.data:
        tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
        tmp.write_bytes(work.data)
        tmp.replace(path)  # atomic: a parallel run's probe never reads half a file
    return str(path)


# ---------------------------------------------------------------------------------------------- the heap


def heap_regimes(work: Workload | None = None, size: int = HEADLINE[1], rounds: int = 9, repeats: int = 3) -> list[dict]:
    """The headline cell under each of ``HEAP_REGIMES``: every contender's median ms (the median over
    ``repeats`` fresh processes per regime, the regimes alternating) and its speed-up over the tutorial code."""
    from pixelate.bench.workloads import by_name

    work = work or by_name(HEADLINE[0])
    path = spill(work)
    names = _installed(peers.CONTENDERS, still=True)
    runs: dict[str, list[dict[str, float]]] = {heap: [] for heap in HEAP_REGIMES}
    for _ in range(repeats):
        for heap in HEAP_REGIMES:
            runs[heap].append(time_in_fresh_process(path, size, names, rounds, heap)[0])
    rows = []
    for heap, medians in runs.items():
        ms = {name: statistics.median(run[name] for run in medians) * 1000 for name in names}
        for name in names:
            rows.append({
                "workload": work.name, "block": size, "heap": heap, "contender": name, "ms": round(ms[name], 1),
                "speedup_vs_tutorial": round(ms["tutorial"] / ms[name], 2),
            })
    return rows


# ---------------------------------------------------------------------------------------------- cold start

_COLD = {
    "project: import pixelate.service.handler": "import pixelate.service.handler",
    "tutorial: import boto3, PIL.Image; boto3.client('s3')": "import boto3, PIL.Image; boto3.client('s3')",
}
_COLD_SCRIPT = (
    "import time; t = time.perf_counter(); {code}; "
    "import sys; print(time.perf_counter() - t, 'numpy' in sys.modules, 'onnxruntime' in sys.modules)"
)


def cold_start(runs: int = 7) -> list[dict]:
    """Median import (+ client) time of the processing handler and of the tutorial's own, in fresh processes, and
    whether numpy and onnxruntime were imported (the handler must not: only a request with faces loads them)."""
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env.setdefault("PROCESSED_BUCKET", "bench-processed")
    env.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Pixelator")
    env.setdefault("POWERTOOLS_SERVICE_NAME", "pixelator")
    samples: dict[str, list[float]] = {name: [] for name in _COLD}
    numpy_loaded: dict[str, bool] = {}
    onnxruntime_loaded: dict[str, bool] = {}
    errors: dict[str, str] = {}
    for _ in range(runs):
        for name, code in _COLD.items():  # interleaved, like the timings
            done = subprocess.run(
                [sys.executable, "-c", _COLD_SCRIPT.format(code=code)], capture_output=True, text=True, env=env, timeout=120
            )
            if done.returncode:
                errors[name] = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
                continue
            seconds, numpy, onnxruntime = done.stdout.split()
            samples[name].append(float(seconds))
            numpy_loaded[name] = numpy == "True"
            onnxruntime_loaded[name] = onnxruntime == "True"
    rows = []
    for name in _COLD:
        values = samples[name]
        rows.append({
            "what": name,
            "ms": round(statistics.median(values) * 1000, 1) if values else None,
            "numpy_imported": numpy_loaded.get(name),
            "onnxruntime_imported": onnxruntime_loaded.get(name),
            "note": errors.get(name, ""),
        })
    if rows[0]["ms"] and rows[1]["ms"]:
        rows[0]["ratio_to_tutorial"] = round(rows[0]["ms"] / rows[1]["ms"], 2)
    return rows


# ---------------------------------------------------------------------------------------------- the coder


def coder_comparison(workload: Workload | None = None, blocks: Iterable[int] = (8, 16, 32), rounds: int = 9) -> list[dict]:
    """The fast path's parts on one JPEG: 1/8 decode + block means, the pure-Python coder, the numpy coder;
    and the whole fast path on the photo as it is (upright: coded while decoding, with two CPUs) and with an
    EXIF orientation of 6 (a portrait phone photo: decoded first, then turned and coded).

    The numpy coder writes the same bytes; its import cost (first call in a fresh process) is measured too.
    """
    from pixelate.image.fast import jpeg_dc, jpeg_writer
    from pixelate.bench.numpy_encoder import encode_flat_jpeg_numpy
    from pixelate.bench.workloads import jpeg_workload, with_exif_orientation
    from pixelate.image.limits import DEFAULT_LIMITS

    work = workload or jpeg_workload("jpeg-12mp")
    turned = with_exif_orientation(work.data, 6)
    rows = []
    for size in blocks:
        grid = jpeg_dc.decode_block_grid(work.data, size, DEFAULT_LIMITS)
        if grid is None:
            continue
        _, width, height, planes, icc = grid
        medians = time_interleaved(
            {
                "decode at 1/8 + block means": lambda: jpeg_dc.decode_block_grid(work.data, size, DEFAULT_LIMITS),
                "coder, pure Python": lambda: jpeg_writer.encode_flat_jpeg(planes, width, height, size, icc),
                "coder, numpy": lambda: encode_flat_jpeg_numpy(planes, width, height, size, icc),
                "whole fast path, upright": lambda: jpeg_dc.pixelate_jpeg(work.data, size, "average"),
                "whole fast path, EXIF orientation 6": lambda: jpeg_dc.pixelate_jpeg(turned, size, "average"),
            },
            rounds,
        )
        for part, seconds in medians.items():
            rows.append({"workload": work.name, "block": size, "part": part, "ms": round(seconds * 1000, 1)})
    samples = []
    for _ in range(5):
        done = subprocess.run(
            [sys.executable, "-c", "import time; t = time.perf_counter(); import numpy; print(time.perf_counter() - t)"],
            capture_output=True, text=True, timeout=60,
        )
        if done.returncode == 0:
            samples.append(float(done.stdout))
    if samples:
        rows.append({"workload": "-", "block": None, "part": "import numpy (fresh process)", "ms": round(statistics.median(samples) * 1000, 1)})
    return rows


# ---------------------------------------------------------------------------------------------- every block size

SWEEP_WORKLOADS = ("jpeg-2mp", "jpeg-12mp")
SWEEP_BLOCKS = tuple(range(2, 41))


def jpeg_path(data: bytes, size: int) -> str:
    """Which path the core takes for this JPEG at this block: the DC-only fast path, or the general path
    and the decode scale it chooses (asked of ``jpeg_dc`` and ``decode.draft_scale`` themselves)."""
    from PIL import Image

    from pixelate.image.decode import draft_scale
    from pixelate.image.fast import jpeg_dc

    if jpeg_dc.pixelate_jpeg(data, size, "average", only_if_faster=True) is not None:
        return "fast (1/8 decode, DC-only JPEG)"
    scale = draft_scale(Image.open(io.BytesIO(data)), size, "average")
    return f"general (1/{scale} decode)" if scale > 1 else "general (full decode)"


def block_sweep(
    names: Iterable[str] = SWEEP_WORKLOADS, blocks: Iterable[int] = SWEEP_BLOCKS, rounds: int = 5,
    progress: Callable[[str], None] | None = None,
) -> list[dict]:
    """The project against the tutorial code at every block size from 2 to 40, on the photo JPEGs: ratio of
    medians of interleaved runs (a fresh process per block), and the project's mean error against the exact
    block means."""
    from pixelate.bench.workloads import by_name

    say = progress or (lambda message: None)
    rows = []
    for name in names:
        work = by_name(name)
        say(f"sweep {name}")
        pixels = _frames_rgba(work.data)
        path = spill(work)
        for size in blocks:
            medians, _ = time_in_fresh_process(path, size, ("project", "tutorial"), rounds)
            error, _ = mean_error(peers.project(work.data, size), [exact_block_means(frame, size) for frame in pixels])
            rows.append({
                "workload": name, "block": size, "path": jpeg_path(work.data, size),
                "project_ms": round(medians["project"] * 1000, 1), "tutorial_ms": round(medians["tutorial"] * 1000, 1),
                "speedup_vs_tutorial": round(medians["tutorial"] / medians["project"], 2),
                "error": None if error is None else round(error, 2),
            })
    return rows
