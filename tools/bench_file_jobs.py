"""How much ``pixelate file -j N`` gains over one process, on a folder of phone-sized photos, end to end.

    .venv/bin/python tools/bench_file_jobs.py                   # 24 photos of 2 MP, -j 1 against -j 2, 7 rounds
    .venv/bin/python tools/bench_file_jobs.py --photos 48 --jobs 1 2 4 --rounds 9
    .venv/bin/python tools/bench_file_jobs.py --file-args '--faces'   # heavier work per photo

Each run is the command as a user runs it (``pixelate file TREE --out-dir OUT -j N --quiet``, the console script
beside this interpreter, else ``python -m pixelate.cli``; a fresh process: interpreter start, imports, planning,
workers, writing), timed from the outside with a fresh
output folder. Runs are interleaved (``-j 1``, ``-j 2``, ``-j 1``, ... with the order rotated each round) so
that a noisy neighbour slows every setting alike; medians are reported with the ratio of each to the first
``--jobs`` value (the baseline, measured in the same run). The photos are
``pixelate.bench.workloads.photo_jpeg(1632, 1224, seed=i)`` in three sub-folders, named ``IMG_0001.JPG``...

The outputs of every setting are also compared byte for byte with the baseline's: more workers must give
the same files. The package is byte-compiled first, as ``pip install`` does (this machine sets
``PYTHONDONTWRITEBYTECODE=1``, which would otherwise have every run compile every module of the package again,
~0.1 s of start-up that no installed copy pays); ``--no-compile`` measures without. ``CPU s`` is the median CPU time (user + system) of the command with its workers: what the
parallel run costs beyond the one-process run. The share of the CPUs that other processes used meanwhile
says how far the machine was from idle: on a shared machine, ``-j 2`` can only use the cores others leave.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_tree(root: Path, photos: int, width: int, height: int) -> int:
    """``photos`` JPEGs in three sub-folders of ``root``; returns their total size in bytes."""
    from pixelate.bench.workloads import photo_jpeg

    total = 0
    for index in range(photos):
        folder = root / f"album {index % 3 + 1}"
        folder.mkdir(parents=True, exist_ok=True)
        data = photo_jpeg(width, height, seed=index)
        (folder / f"IMG_{index + 1:04d}.JPG").write_bytes(data)
        total += len(data)
    return total


#: The command a user types: the installed console script (``python -m`` would add runpy's import, ~4 ms).
_SCRIPT = Path(sys.executable).with_name("pixelate")
PIXELATE = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "pixelate.cli"]


def run_once(tree: Path, out: Path, jobs: int, extra: tuple[str, ...] = ()) -> tuple[float, float]:
    """Wall seconds of one run, and the CPU seconds (user + system) of the command and its workers."""
    shutil.rmtree(out, ignore_errors=True)
    command = [*PIXELATE, "file", str(tree), "--out-dir", str(out), "-j", str(jobs), "--quiet",
               *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"-j {jobs} failed ({proc.returncode}): {proc.stderr}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def machine_seconds() -> tuple[float, float] | None:
    """CPU seconds spent busy and in total by the whole machine so far (Linux ``/proc/stat``), else ``None``."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(n) for n in stat.readline().split()[1:9]]
    except OSError:
        return None
    hz = os.sysconf("SC_CLK_TCK")
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks) - idle) / hz, sum(ticks) / hz


def fingerprint(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.rglob("*")) if p.is_file()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--width", type=int, default=1632)
    parser.add_argument("--height", type=int, default=1224)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="settings; the first is the baseline")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--file-args", default="", metavar="ARGS",
        help="more options for pixelate file, quoted as one argument (say '--faces' or '--size 8 --method nearest')",
    )
    parser.add_argument("--no-compile", action="store_true", help="do not byte-compile the package first")
    args = parser.parse_args(argv)
    extra = tuple(shlex.split(args.file_args))
    if not args.no_compile:
        import compileall

        import pixelate

        compileall.compile_dir(Path(pixelate.__file__).parent, quiet=1)

    with tempfile.TemporaryDirectory(prefix="bench-file-jobs-") as scratch:
        tree, out = Path(scratch) / "photos", Path(scratch) / "out"
        total = make_tree(tree, args.photos, args.width, args.height)
        prints = {}
        for jobs in args.jobs:  # warm-up (page cache, .pyc) and the outputs to compare
            run_once(tree, out, jobs, extra)
            prints[jobs] = fingerprint(out)
        same = all(prints[jobs] == prints[args.jobs[0]] for jobs in args.jobs)
        times: dict[int, list[float]] = {jobs: [] for jobs in args.jobs}
        cpu: dict[int, list[float]] = {jobs: [] for jobs in args.jobs}
        machine_before = machine_seconds()
        for round_ in range(args.rounds):
            shift = round_ % len(args.jobs)
            for jobs in args.jobs[shift:] + args.jobs[:shift]:
                wall, used = run_once(tree, out, jobs, extra)
                times[jobs].append(wall)
                cpu[jobs].append(used)

        machine_after = machine_seconds()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    others = ""
    if machine_before and machine_after:
        busy, elapsed = (after - before for after, before in zip(machine_after, machine_before))
        ours = sum(sum(used) for used in cpu.values())
        others = f"; other processes used {max(0.0, busy - ours) / elapsed:.0%} of the CPUs during the timed runs"
    print(f"{args.photos} photos of {args.width}×{args.height} ({total / 1e6:.1f} MB of JPEG), "
          f"{args.rounds} interleaved rounds, {os.cpu_count()} CPUs, load average {load:.1f} at the end, "
          f"package {'not ' if args.no_compile else ''}byte-compiled{others}"
          f"{'; pixelate file ' + ' '.join(extra) if extra else ''}")
    base = statistics.median(times[args.jobs[0]])
    print(f"{'setting':>8} {'median s':>9} {'ratio':>6} {'MB/s':>6} {'CPU s':>6}  runs (s)")
    for jobs in args.jobs:
        median = statistics.median(times[jobs])
        runs = " ".join(f"{t:.3f}" for t in times[jobs])
        used = statistics.median(cpu[jobs])
        print(f"{'-j ' + str(jobs):>8} {median:9.3f} {median / base:6.2f} {total / 1e6 / median:6.1f} {used:6.2f}  {runs}")
    print(f"outputs identical across settings: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
