"""What pixelating a million images costs on Lambda, from a time measured on this machine.

A model with stated assumptions, not a quote; the notebook passes the prices in as parameters with the
date they were read, and says so:

- Lambda bills duration in 1 ms steps at a price per GB-second of configured memory, plus a price per
  request. Prices differ by architecture (arm64 is cheaper per GB-s) and by region.
- CPU is allotted in proportion to memory: 1,769 MB buys one full vCPU. JPEG pixelation is single-threaded
  (Pillow decodes and encodes on one core), so below that the same work takes ``1769 / memory`` times
  longer, and above it, no less time: only the price grows. (A still PNG's decode overlaps two threads,
  so PNGs do get faster above 1,769 MB, up to about two vCPUs; the model prices the JPEG measurement.)
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


def lambda_ms(measured_ms: float, memory_mb: int, io_ms: float = 0.0) -> float:
    """The expected duration on Lambda of work measured at ``measured_ms`` on one full core here."""
    slowdown = max(1.0, FULL_VCPU_MB / memory_mb)
    return measured_ms * slowdown + io_ms


def duration_cost_per_million(duration_ms: float, memory_mb: int, price: LambdaPrice) -> float:
    """US dollars per million invocations that each run ``duration_ms`` on Lambda with ``memory_mb``."""
    billed_ms = math.ceil(duration_ms)
    gb_seconds = billed_ms / 1000 * memory_mb / 1024
    return 1e6 * gb_seconds * price.usd_per_gb_second + price.usd_per_million_requests


def cost_per_million(measured_ms: float, memory_mb: int, price: LambdaPrice, io_ms: float = 0.0) -> float:
    """US dollars per million invocations of work measured at ``measured_ms`` here, run at ``memory_mb``."""
    return duration_cost_per_million(lambda_ms(measured_ms, memory_mb, io_ms), memory_mb, price)


def cost_table(
    measurements: Iterable[tuple[str, float]],
    memory_sizes: Iterable[int],
    prices: Iterable[LambdaPrice],
    io_ms: float = 0.0,
) -> list[dict]:
    """One row per (label, memory size, architecture): the modelled duration and the cost per million.

    ``measurements`` are (label, milliseconds per image measured here), e.g. one per benchmark workload.
    """
    memory_sizes, prices = list(memory_sizes), list(prices)
    rows = []
    for label, measured in measurements:
        for memory in memory_sizes:
            for price in prices:
                rows.append({
                    "label": label,
                    "memory_mb": memory,
                    "architecture": price.architecture,
                    "measured_ms": round(measured, 1),
                    "lambda_ms": round(lambda_ms(measured, memory, io_ms), 1),
                    "usd_per_million": round(cost_per_million(measured, memory, price, io_ms), 2),
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


def benchmark_measurements(rows: Iterable[dict], workload: str, block: int) -> list[tuple[str, float]]:
    """(contender, ms per image) from ``pixelate.bench`` rows for one workload and block size."""
    return [
        (row["contender"], row["ms"])
        for row in rows
        if row["workload"] == workload and row["block"] == block and row.get("ok") and row.get("ms") is not None
    ]
