"""What pixelating a million images costs on Lambda, from a time measured on this machine.

A model with stated assumptions, not a quote; the notebook passes the prices in as parameters with the
date they were read, and says so:

- Lambda bills duration in 1 ms steps at a price per GB-second of configured memory, plus a price per
  request. Prices differ by architecture (arm64 is cheaper per GB-s) and by region.
- CPU is allotted in proportion to memory: 1,769 MB buys one full vCPU. A call takes the longer of its
  time measured here (two cores) and its CPU time (every thread's) divided by the vCPUs the memory buys.
  Work on one thread (most of it) thus takes ``1769 / memory`` times longer below 1,769 MB and no less time
  above: only the price grows. Work that overlaps two threads here (a still PNG's decode, the JPEG fast path
  on an upright photo) is measured faster than its CPU time, and gains up to about two vCPUs.
- One core of this machine is taken as one Lambda vCPU; Graviton (arm64) and x86 Lambda cores differ from it
  and from each other. ``io_ms`` stands for the S3 round trips (head, get, put, status put), not measured here.
- S3 requests, transfer, SQS and CloudWatch are billed separately and are not included.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

#: Memory at which a Lambda function has one full vCPU (AWS Lambda documentation).
FULL_VCPU_MB = 1769


@dataclass(frozen=True)
class LambdaPrice:
    """Lambda's price for one architecture, and when (and where) it was read."""

    architecture: str
    usd_per_gb_second: float
    usd_per_million_requests: float
    as_of: str


def lambda_ms(measured_ms: float, memory_mb: int, io_ms: float = 0.0, cpu_ms: float | None = None) -> float:
    """The expected duration on Lambda of work measured at ``measured_ms`` here, using ``cpu_ms`` of CPU time
    on all its threads together (the same as ``measured_ms`` for work on one thread, the default)."""
    vcpus = memory_mb / FULL_VCPU_MB
    return max(measured_ms, (measured_ms if cpu_ms is None else cpu_ms) / vcpus) + io_ms


def duration_cost_per_million(duration_ms: float, memory_mb: int, price: LambdaPrice) -> float:
    """US dollars per million invocations that each run ``duration_ms`` on Lambda with ``memory_mb``."""
    billed_ms = math.ceil(duration_ms)
    gb_seconds = billed_ms / 1000 * memory_mb / 1024
    return 1e6 * gb_seconds * price.usd_per_gb_second + price.usd_per_million_requests


def cost_per_million(measured_ms: float, memory_mb: int, price: LambdaPrice, io_ms: float = 0.0) -> float:
    """US dollars per million invocations of work measured at ``measured_ms`` here, run at ``memory_mb``."""
    return duration_cost_per_million(lambda_ms(measured_ms, memory_mb, io_ms), memory_mb, price)


def cost_table(
    measurements: Iterable[tuple],
    memory_sizes: Iterable[int],
    prices: Iterable[LambdaPrice],
    io_ms: float = 0.0,
) -> list[dict]:
    """One row per (label, memory size, architecture): the modelled duration and the cost per million.

    ``measurements`` are (label, milliseconds per image measured here[, CPU milliseconds]), e.g. one per
    benchmark workload.
    """
    memory_sizes, prices = list(memory_sizes), list(prices)
    rows = []
    for label, measured, *cpu in measurements:
        cpu_ms = cpu[0] if cpu else None
        for memory in memory_sizes:
            for price in prices:
                duration = lambda_ms(measured, memory, io_ms, cpu_ms)
                rows.append({
                    "label": label,
                    "memory_mb": memory,
                    "architecture": price.architecture,
                    "measured_ms": round(measured, 1),
                    "cpu_ms": None if cpu_ms is None else round(cpu_ms, 1),
                    "lambda_ms": round(duration, 1),
                    "usd_per_million": round(duration_cost_per_million(duration, memory, price), 2),
                    "prices_as_of": price.as_of,
                })
    return rows


def cheapest(rows: Iterable[dict]) -> dict[str, dict]:
    """Per label, the row with the lowest cost per million."""
    best: dict[str, dict] = {}
    for row in rows:
        if row["label"] not in best or row["usd_per_million"] < best[row["label"]]["usd_per_million"]:
            best[row["label"]] = row
    return best


def benchmark_measurements(rows: Iterable[dict], workload: str, block: int) -> list[tuple]:
    """(contender, ms per image, CPU ms per image) from ``pixelate.bench`` rows for one workload and block size."""
    return [
        (row["contender"], row["ms"], row.get("cpu_ms"))
        for row in rows
        if row["workload"] == workload and row["block"] == block and row.get("ok") and row.get("ms") is not None
    ]


def io_share(row: dict, io_ms: float) -> float:
    """The share of a ``cost_table`` row's modelled duration that is the assumed S3 I/O (``io_ms``), 0 to 1."""
    return io_ms / row["lambda_ms"] if row["lambda_ms"] else 0.0


def io_sensitivity(measurements: Iterable[tuple], memory_sizes: Iterable[int], prices: Iterable[LambdaPrice],
                   io_values: Iterable[float]) -> list[dict]:
    """Per assumed I/O time and label, the cheapest cost per million (``cheapest`` of ``cost_table``): how much of
    the bill the I/O assumption carries."""
    measurements, memory_sizes, prices = list(measurements), list(memory_sizes), list(prices)
    rows = []
    for io_ms in io_values:
        for label, row in cheapest(cost_table(measurements, memory_sizes, prices, io_ms=io_ms)).items():
            rows.append({"io_ms": io_ms, "label": label, "memory_mb": row["memory_mb"],
                         "architecture": row["architecture"], "usd_per_million": row["usd_per_million"]})
    return rows
