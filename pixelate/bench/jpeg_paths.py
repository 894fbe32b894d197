"""Which JPEG path pays, by image and block size: the DC-only fast path against the general path.

The fast path (``pixelate.image.fast.jpeg_dc``) decodes at 1/8 and codes the output's DC terms in pure Python:
its work grows with the number of *blocks*. The general path (``pixelate_bytes(..., fast=False)``) decodes at
1/8 too, then enlarges the block grid and hands every *pixel* to Pillow's JPEG encoder. Which costs less
depends on how many blocks there are per pixel (the block size), on the image's size (the fast path's fixed
costs: Huffman tables, headers; streaming from 3 MP) and on the CPUs. ``path_sweep`` measures both, with the
pipeline's own choice and the tutorial code as the baseline, in the same runs: each (image, block) in
``repeats`` fresh processes of interleaved rounds, medians. ``jpeg_dc.faster_path`` is the rule these figures
gave; the sweep says, per cell, whether the rule chose the faster path.

    python -m pixelate.bench.jpeg_paths            # the sweep the rule was fitted on (~2 minutes)
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
from typing import Callable, Iterable

from pixelate.bench.run import heap_environment

#: photo JPEGs (width, height): 0.08 to 12 MP, 4:3 like phone photos
SWEEP_SIZES = ((320, 240), (640, 480), (1152, 864), (1632, 1224), (2048, 1536), (2592, 1944), (4032, 3024))
SWEEP_BLOCKS = (8, 16, 24, 32, 64)

_SCRIPT = r"""
import json, sys
from pixelate.bench import peers
from pixelate.bench.run import time_interleaved
from pixelate.image.fast import jpeg_dc
from pixelate.image.pipeline import pixelate_bytes

path, size, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = open(path, "rb").read()
calls = {
    "fast": lambda: jpeg_dc.pixelate_jpeg(data, size, "average", only_if_faster=False),
    "general": lambda: pixelate_bytes(data, size, fast=False),
    "project": lambda: pixelate_bytes(data, size),
    "tutorial": lambda: peers.tutorial(data, size),
}
cpu = {}
wall = time_interleaved(calls, rounds, cpu=cpu)
print(json.dumps({"wall": wall, "cpu": cpu, "rule": "fast" if jpeg_dc.pixelate_jpeg(data, size, "average", only_if_faster=True) else "general"}))
"""


def path_sweep(
    sizes: Iterable[tuple[int, int]] = SWEEP_SIZES, blocks: Iterable[int] = SWEEP_BLOCKS, rounds: int = 9,
    repeats: int = 3, grey: bool = False, progress: Callable[[str], None] | None = None,
) -> list[dict]:
    """Per (image, block): median ms of the fast path, the general path, the pipeline (its rule's choice) and
    the tutorial code, over ``repeats`` fresh processes of ``rounds`` interleaved rounds; CPU ms of the first two;
    which path the rule chose and which was faster."""
    from pixelate.bench.run import spill
    from pixelate.bench.workloads import sized_jpeg_workload

    say = progress or (lambda message: None)
    rows = []
    for width, height in sizes:
        work = sized_jpeg_workload(width, height, grey)
        path = spill(work)
        for size in blocks:
            say(f"{work.name} block {size}")
            runs = []
            for _ in range(repeats):
                done = subprocess.run([sys.executable, "-c", _SCRIPT, path, str(size), str(rounds)], capture_output=True,
                                      text=True, env=heap_environment("default"), timeout=600)
                if done.returncode:
                    raise RuntimeError(f"path timing failed: {done.stderr.strip()[-2000:]}")
                runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            ms = {name: round(1000 * statistics.median(run["wall"][name] for run in runs), 2) for name in runs[0]["wall"]}
            cpu = {name: round(1000 * statistics.median(run["cpu"][name] for run in runs), 2) for name in runs[0]["cpu"]}
            faster = "fast" if ms["fast"] <= ms["general"] else "general"
            rows.append({
                "workload": work.name, "width": width, "height": height, "megapixels": round(width * height / 1e6, 2),
                "block": size, "blocks": -(-width // size) * -(-height // size), "grey": grey,
                "fast_ms": ms["fast"], "general_ms": ms["general"], "project_ms": ms["project"], "tutorial_ms": ms["tutorial"],
                "fast_cpu_ms": cpu["fast"], "general_cpu_ms": cpu["general"],
                "fast_over_general": round(ms["fast"] / ms["general"], 2), "rule": runs[0]["rule"], "faster": faster,
                "speedup_vs_tutorial": round(ms["tutorial"] / ms["project"], 2),
            })
    return rows


def paths_taken(works, blocks: Iterable[int]) -> dict[tuple[str, int], str]:
    """(workload, block) → the path ``pixelate_bytes`` takes for each JPEG workload (``run.jpeg_path``)."""
    from pixelate.bench.run import jpeg_path

    return {(work.name, size): jpeg_path(work.data, size) for work in works if work.kind == "jpeg" for size in blocks}


def format_sweep(rows: list[dict]) -> str:
    """The sweep as a fixed-width table."""
    header = (f"{'image':<20} {'block':>5} {'blocks':>7} {'fast ms':>8} {'general':>8} {'f/g':>5} {'rule':>8} "
              f"{'faster':>8} {'project':>8} {'tutorial':>8} {'× tut':>6}")
    lines = [header, "-" * len(header)]
    for r in rows:
        mark = "" if r["rule"] == r["faster"] else "  (rule chose the slower)"
        lines.append(f"{r['workload']:<20} {r['block']:>5} {r['blocks']:>7} {r['fast_ms']:>8} {r['general_ms']:>8} "
                     f"{r['fast_over_general']:>5} {r['rule']:>8} {r['faster']:>8} {r['project_ms']:>8} {r['tutorial_ms']:>8} "
                     f"{r['speedup_vs_tutorial']:>5}×{mark}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pixelate.bench.jpeg_paths", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", help="WxH,WxH,... (default: 0.08 to 12 MP)")
    parser.add_argument("--blocks", help="block sizes, comma-separated (multiples of 8)")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--grey", action="store_true", help="greyscale photos")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)
    sizes = [tuple(int(n) for n in s.split("x")) for s in args.sizes.split(",")] if args.sizes else SWEEP_SIZES
    blocks = [int(b) for b in args.blocks.split(",")] if args.blocks else SWEEP_BLOCKS
    rows = path_sweep(sizes, blocks, args.rounds, args.repeats, args.grey, progress=lambda m: print(m, file=sys.stderr))
    print(format_sweep(rows))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(rows, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
