"""The service's two methods side by side, timed as the benchmark's table is: per (workload, block), fresh
processes of interleaved rounds after a warm-up round, medians (the median of the processes' medians).

The table times the default method (``average``) against the peers; this puts ``average`` and ``nearest`` on the
same inputs (``benchmark.ipynb``'s "The two methods").
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
from typing import Iterable

from pixelate.bench.run import heap_environment, spill
from pixelate.bench.workloads import Workload

_SCRIPT = r"""
import json, sys
from pixelate.bench.run import time_interleaved
from pixelate.image.pipeline import pixelate_bytes

path, size, methods, rounds = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), int(sys.argv[4])
data = open(path, "rb").read()
calls = {method: (lambda m=method: pixelate_bytes(data, size, m)) for method in methods}
print(json.dumps(time_interleaved(calls, rounds)))
"""


def method_timings(workloads: Iterable[Workload], blocks: Iterable[int], methods: Iterable[str] = ("average", "nearest"),
                   rounds: int = 7, processes: int = 1) -> list[dict]:
    """Median ms of ``pixelate_bytes`` per method; rows carry the benchmark's keys (workload, kind, megapixels,
    block, ms) with ``method``."""
    blocks, methods = list(blocks), list(methods)
    rows = []
    for work in workloads:
        path = spill(work)
        for size in blocks:
            runs = []
            for _ in range(max(1, processes)):
                done = subprocess.run([sys.executable, "-c", _SCRIPT, path, str(size), ",".join(methods), str(rounds)],
                                      capture_output=True, text=True, env=heap_environment("default"), timeout=900)
                if done.returncode:
                    raise RuntimeError(f"method timing failed: {done.stderr.strip()[-2000:]}")
                runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            for method in methods:
                rows.append({"workload": work.name, "kind": work.kind, "megapixels": round(work.megapixels, 2),
                             "block": size, "method": method,
                             "ms": round(1000 * statistics.median(run[method] for run in runs), 1)})
    return rows
