"""``pixelate bench``: run the benchmark, print the table, the goals and the cold start; optionally save them."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers, name: str) -> None:
    parser = subparsers.add_parser(
        name,
        help="benchmark pixelation against the tutorial code and peers",
        description="Time the project, the tutorial code, libvips and OpenCV on the same inputs (bytes in, "
        "bytes out; a fresh process per cell, interleaved rounds, medians) and print ms, MP/s, peak memory, output size, "
        "error against the exact block mean and the ratios.",
    )
    parser.add_argument("--quick", action="store_true", help="the 2 MP JPEG and a small GIF at block 16 only (seconds)")
    parser.add_argument("--blocks", type=lambda s: [int(v) for v in s.split(",")], help="block sizes, e.g. 8,16")
    parser.add_argument("--workloads", type=lambda s: s.split(","), help="only these inputs, e.g. jpeg-12mp,png-12mp-alpha")
    parser.add_argument("--rounds", type=int, help="timed rounds per cell (default 7; 3 with --quick)")
    parser.add_argument("--no-memory", action="store_true", help="skip the fresh-process memory probes")
    parser.add_argument("--no-cold-start", action="store_true", help="skip the import-time measurement")
    parser.add_argument("--no-sweep", action="store_true", help="skip the project-vs-tutorial run over block sizes 2-40")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--markdown", type=Path, help="also write docs/benchmark.md-style Markdown here")
    parser.add_argument("--from-json", type=Path, help="do not measure: report a run saved with --json")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from pixelate.bench import report, run

    def progress(message: str) -> None:
        print(f"… {message}", file=sys.stderr, flush=True)

    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        return _report(
            args, saved["results"], saved.get("cold_start"), saved.get("coder"), saved["machine"], saved.get("sweep"), saved.get("heap")
        )
    from pixelate.bench import workloads

    chosen = [workloads.by_name(name) for name in args.workloads] if args.workloads else None
    results = run.run_benchmark(
        quick=args.quick, blocks=args.blocks, rounds=args.rounds, memory=not args.no_memory, workloads=chosen,
        progress=progress,
    )
    cold = None if args.no_cold_start else run.cold_start(runs=3 if args.quick else 7)
    coder = None if args.quick or args.workloads else run.coder_comparison()
    sweep = None if args.quick or args.workloads or args.no_sweep else run.block_sweep(progress=progress)
    heap = None if args.quick or args.workloads else run.heap_regimes()
    return _report(args, results, cold, coder, report.machine(), sweep, heap)


def _report(args: argparse.Namespace, results: list[dict], cold, coder, machine: dict, sweep=None, heap=None) -> int:
    from pixelate.bench import report

    print(report.text_report(results, cold, machine, coder, sweep, heap))
    if args.json:
        saved = {"machine": machine, "results": results, "cold_start": cold, "coder": coder, "sweep": sweep, "heap": heap}
        args.json.write_text(json.dumps(saved, indent=1))
    if args.markdown:
        args.markdown.write_text(
            report.markdown_report(results, cold, machine, quick=args.quick, coder=coder, sweep=sweep, heap=heap)
        )
    return 0
