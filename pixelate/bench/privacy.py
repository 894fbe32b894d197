"""The benchmark's privacy rows: a 12 MP JPEG with faces, and with two manual regions, against the whole image.

Timing as everywhere in the benchmark: each workload in fresh processes (3 in a full run), each running the whole
image, faces and (on the first workload) the two regions in interleaved rounds after a warm-up round, medians;
the figure is the median over the processes. Before the rounds each process measures what a new Lambda
container pays once for faces: loading the model (importing numpy and onnxruntime, making the session) and the
first call after it (onnxruntime sizes its buffers on the first run). Memory: the resident set's high-water mark
of a fresh process that imports the processing handler, as a Lambda does, and pixelates one photo: the whole
process (what the function's memory must hold) and what the call added.

Goals (issue 14), on the 12 MP JPEG: with faces, at most the whole-image time + 250 ms; with two manual
regions of about 400×400, at most 150 ms, and lossless outside them: every pixel outside the pixelated boxes
decodes to the input's, but for a ring of one pixel around them where a 4:2:0 decoder's chroma upsampling
blends in the neighbouring chroma block.
"""
from __future__ import annotations

import io
import json
import statistics
import subprocess
import sys

from pixelate.bench.run import heap_environment, spill
from pixelate.bench.workloads import Workload, by_name

#: the goal cell, a 12 MP photo with a face in it (the astronaut, upscaled) and a ~500 px one (the size of the
#: photos the detector is judged on); the regions are timed on the first only
WORKLOADS = ("jpeg-12mp", "jpeg-12mp-portrait", "jpeg-500px-portrait")
BLOCK = 16
#: two regions of about 400×400, off the block grid on purpose (they are snapped outward to it)
TWO_REGIONS = ((1003, 797, 400, 400), (2511, 1509, 400, 400))
#: the memory probes: the goal cell and a 12 MP PNG with alpha (decoded whole: the most a 12 MP photo needs)
MEMORY_WORKLOADS = ("jpeg-12mp", "png-12mp-alpha")
FACES_BUDGET_MS = 250
REGIONS_BUDGET_MS = 150

_TIMING_SCRIPT = r"""
import json, sys, time
from pixelate.image.pipeline import pixelate_bytes
from pixelate.bench.run import time_interleaved

path, block, rounds, regions = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
data = open(path, "rb").read()
pixelate_bytes(data, block)  # Pillow's and the fast path's own first-call costs, not the faces'
start = time.perf_counter()
from pixelate.image.faces import detector
detector.get_session()
load = time.perf_counter() - start
start = time.perf_counter()
found = pixelate_bytes(data, block, faces=True).regions
first = time.perf_counter() - start
calls = {
    "whole image": lambda: pixelate_bytes(data, block),
    "faces": lambda: pixelate_bytes(data, block, faces=True),
}
if regions:
    calls["two regions"] = lambda: pixelate_bytes(data, block, regions=[tuple(r) for r in regions])
cpu = {}
wall = time_interleaved(calls, rounds, cpu=cpu)
print(json.dumps({"wall": wall, "cpu": cpu, "session_load": load, "first_faces_call": first, "faces_found": len(found)}))
"""

_MEMORY_SCRIPT = r"""
import json, sys


def status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])


path, block, faces = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "faces"
import pixelate.service.handler  # what the Lambda imports before its first event
from pixelate.image.pipeline import pixelate_bytes
data = open(path, "rb").read()
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # the high-water mark starts at the resident set now
before = status_kib("VmRSS")
out = pixelate_bytes(data, block, faces=faces)
print(json.dumps({"before_kib": before, "peak_kib": status_kib("VmHWM"), "out": len(out.data)}))
"""


def time_privacy(work: Workload, rounds: int = 7, repeats: int = 3, regions=TWO_REGIONS) -> dict:
    """Medians (ms) of the whole image, faces and ``regions`` on ``work``, over ``repeats`` fresh processes, with
    the model's load and the first call with faces (fresh process, ms) and the number of faces found."""
    path = spill(work)
    runs = []
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, "-c", _TIMING_SCRIPT, path, str(BLOCK), str(rounds), json.dumps(regions)],
            capture_output=True, text=True, env=heap_environment("default"), timeout=1800,
        )
        if done.returncode:
            raise RuntimeError(f"privacy timing failed: {done.stderr.strip()[-2000:]}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    median = lambda values: round(1000 * statistics.median(values), 1)  # noqa: E731
    return {
        "workload": work.name, "width": work.width, "height": work.height, "block": BLOCK, "rounds": rounds,
        "processes": repeats,
        "ms": {name: median(run["wall"][name] for run in runs) for name in runs[0]["wall"]},
        "cpu_ms": {name: median(run["cpu"][name] for run in runs) for name in runs[0]["cpu"]},
        "session_load_ms": median(run["session_load"] for run in runs),
        "first_faces_call_ms": median(run["first_faces_call"] for run in runs),
        "faces_found": runs[0]["faces_found"],
    }


def regions_lossless(work: Workload, regions=TWO_REGIONS, fast: bool = True) -> dict:
    """Whether pixels outside the pixelated boxes of ``regions`` decode to the input's: counts of differing pixels
    outside the boxes grown by one pixel (must be 0) and in that one-pixel ring (chroma upsampling). ``fast=False``
    takes the pipeline's general path (a re-encode: not lossless), to show the check can tell."""
    import numpy as np
    from PIL import Image

    from pixelate.image.pipeline import pixelate_bytes

    result = pixelate_bytes(work.data, BLOCK, regions=regions, fast=fast)
    before = np.asarray(Image.open(io.BytesIO(work.data)).convert("RGB"), dtype=np.int16)
    after = np.asarray(Image.open(io.BytesIO(result.data)).convert("RGB"), dtype=np.int16)
    inside = np.zeros(before.shape[:2], dtype=bool)
    grown = inside.copy()
    for box in result.regions:
        x0, y0, x1, y1 = box["x"], box["y"], box["x"] + box["w"], box["y"] + box["h"]
        inside[y0:y1, x0:x1] = True
        grown[max(0, y0 - 1):y1 + 1, max(0, x0 - 1):x1 + 1] = True
    changed = (before != after).any(axis=2)
    ring = grown & ~inside
    return {
        "format": result.format, "boxes": [{k: box[k] for k in ("x", "y", "w", "h")} for box in result.regions],
        "changed_outside": int((changed & ~grown).sum()), "changed_in_ring": int((changed & ring).sum()),
        "ring_pixels": int(ring.sum()),
        "max_difference_in_ring": int(np.abs(before - after)[ring].max()) if ring.any() else 0,
        "lossless": bool(not (changed & ~grown).any()),
    }


def peak_memory(work: Workload, faces: bool) -> dict | None:
    """The high-water mark (MiB) of a fresh process importing the processing handler and pixelating ``work``:
    ``peak_mib`` the whole process, ``call_mib`` what the call added; None if the probe failed."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _MEMORY_SCRIPT, spill(work), str(BLOCK), "faces" if faces else "whole"],
            capture_output=True, text=True, env=_handler_environment(), timeout=600, check=True,
        )
        report = json.loads(done.stdout.strip().splitlines()[-1])
    except Exception:
        return None
    return {"workload": work.name, "faces": faces, "peak_mib": round(report["peak_kib"] / 1024, 1),
            "call_mib": round((report["peak_kib"] - report["before_kib"]) / 1024, 1)}


def _handler_environment() -> dict[str, str]:
    env = heap_environment("default")
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env.setdefault("PROCESSED_BUCKET", "bench-processed")
    env.setdefault("POWERTOOLS_SERVICE_NAME", "pixelator")
    env.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Pixelator")
    return env


def run_privacy(rounds: int = 7, repeats: int = 3, memory: bool = True, progress=None,
                works: tuple[Workload, ...] | None = None, memory_works: tuple[Workload, ...] | None = None,
                regions=TWO_REGIONS) -> dict:
    """Everything the report's privacy section shows: timings per workload (default ``WORKLOADS``; the first is the
    goal cell), the losslessness check of ``regions`` on the first, peak memory (default ``MEMORY_WORKLOADS``)."""
    say = progress or (lambda message: None)
    works = works or tuple(by_name(name) for name in WORKLOADS)
    timings = []
    for index, work in enumerate(works):
        say(f"privacy {work.name}")
        timings.append(time_privacy(work, rounds, repeats, regions if index == 0 else ()))
    memories = []
    if memory:
        for work in memory_works or tuple(by_name(name) for name in MEMORY_WORKLOADS):
            say(f"privacy memory {work.name}")
            memories += [peak_memory(work, faces) for faces in (False, True)]
    return {"timings": timings, "regions": regions_lossless(works[0], regions), "two_regions": [list(r) for r in regions],
            "memory": [m for m in memories if m]}


# ------------------------------------------------------------------------------------------------ the report


def goal_lines(privacy: dict | None) -> list[str]:
    """The issue-14 goals on the 12 MP JPEG, as checklist lines (``report._goal_lines`` style)."""
    if not privacy:
        return []
    cell = privacy["timings"][0]
    ms, lossless = cell["ms"], privacy["regions"]
    faces_extra = round(ms["faces"] - ms["whole image"], 1)
    return [
        f"Goals of issue 14 on {cell['workload']}, block {cell['block']} (medians over {cell['processes']} fresh processes):",
        f"  [{'x' if faces_extra <= FACES_BUDGET_MS else ' '}] with faces ≤ whole image + {FACES_BUDGET_MS} ms:"
        f" {ms['faces']} ms = {ms['whole image']} + {faces_extra} ms",
        f"  [{'x' if ms['two regions'] <= REGIONS_BUDGET_MS else ' '}] two regions ≤ {REGIONS_BUDGET_MS} ms: {ms['two regions']} ms",
        f"  [{'x' if lossless['lossless'] else ' '}] two regions lossless outside the pixelated boxes:"
        f" {lossless['changed_outside']} pixels changed beyond the one-pixel chroma ring",
    ]


def detail_lines(privacy: dict | None) -> list[str]:
    """Every privacy figure: times per workload, first-call costs, the losslessness check, peak memory."""
    if not privacy:
        return []
    regions = "; ".join(",".join(map(str, r)) for r in privacy["two_regions"])
    lines = [f"Privacy rows (block {BLOCK}; the regions x,y,w,h: {regions}):"]
    for cell in privacy["timings"]:
        ms, cpu = cell["ms"], cell["cpu_ms"]
        lines.append(
            f"  {cell['workload']} ({cell['width']}×{cell['height']}): whole image {ms['whole image']} ms,"
            f" faces {ms['faces']} ms (CPU {cpu['faces']} ms; {cell['faces_found']} found),"
            + (f" two regions {ms['two regions']} ms;" if "two regions" in ms else "")
            + f" once per process: model load {cell['session_load_ms']} ms,"
            f" then the first call with faces {cell['first_faces_call_ms']} ms")
    check = privacy["regions"]
    lines.append("The regions, outside their pixelated boxes (" + ", ".join(
        f"{b['w']}×{b['h']} at {b['x']},{b['y']}" for b in check["boxes"]) + f"; {check['format']}):")
    lines.append(f"  pixels changed beyond the one-pixel ring: {check['changed_outside']}; in the ring:"
                 f" {check['changed_in_ring']} of {check['ring_pixels']} (at most {check['max_difference_in_ring']} levels)")
    if privacy.get("memory"):
        lines.append("Peak memory, a fresh process that imports the processing handler (whole process; the call's share):")
        for m in privacy["memory"]:
            lines.append(f"  {m['workload']} {'with faces' if m['faces'] else 'whole image'}: {m['peak_mib']} MiB"
                         f" ({m['call_mib']} MiB the call)")
    return lines
