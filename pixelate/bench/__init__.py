"""The benchmark: the project against the tutorial code and the fastest peers (``make bench``).

For notebooks::

    from pixelate.bench import run_benchmark, cold_start, format_table
    results = run_benchmark(quick=True)        # list of dicts, one per (workload, block, contender)
    print(format_table(results))

Needs the ``bench`` extra (numpy, pyvips, OpenCV); a missing peer is left out of the results.
"""
from __future__ import annotations

from pixelate.bench.report import format_table, headline, machine, markdown_report, text_report
from pixelate.bench.run import cold_start, run_benchmark

__all__ = ["run_benchmark", "cold_start", "format_table", "headline", "machine", "markdown_report", "text_report"]
