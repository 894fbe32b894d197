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
    parser.add_argument("--privacy", action="store_true",
                        help="run the privacy rows (faces, two regions, memory on 12 MP) even in a quick or partial run")
    parser.add_argument("--only-privacy", action="store_true", help="run the privacy rows alone (about two minutes)")
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
    else:
        from pixelate.bench import privacy, workloads

        chosen = [workloads.by_name(name) for name in args.workloads] if args.workloads else None
        full = not (args.quick or args.workloads or args.only_privacy)  # the parts beyond the table: a full run only
        saved = {
            "machine": report.machine(),
            "results": [] if args.only_privacy else run.run_benchmark(
                quick=args.quick, blocks=args.blocks, rounds=args.rounds, memory=not args.no_memory, workloads=chosen,
                progress=progress,
            ),
            "privacy": privacy.run_privacy(
                rounds=args.rounds or (3 if args.quick else 7), repeats=1 if args.quick else 3,
                memory=not args.no_memory, progress=progress,
            ) if full or args.privacy or args.only_privacy else None,
            "cold_start": None if args.no_cold_start else run.cold_start(runs=3 if args.quick else 7),
            "coder": run.coder_comparison() if full else None,
            "sweep": run.block_sweep(progress=progress) if full and not args.no_sweep else None,
            "heap": run.heap_regimes() if full else None,
        }
    parts = dict(
        cold=saved.get("cold_start"), machine_info=saved["machine"], coder=saved.get("coder"), sweep=saved.get("sweep"),
        heap=saved.get("heap"), privacy=saved.get("privacy"),
    )
    print(report.text_report(saved["results"], **parts))
    if args.json:
        args.json.write_text(json.dumps(saved, indent=1))
    if args.markdown:
        args.markdown.write_text(report.markdown_report(saved["results"], quick=args.quick, **parts))
    return 0
