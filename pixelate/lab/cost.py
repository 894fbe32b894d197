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
- S3 requests, transfer, SQS and CloudWatch are billed separately and are not included (the backfill model
  below adds S3 requests, SQS, SNS and Step Functions).
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


# --- backfill: what it costs to pixelate a million objects already in the bucket ------------------------------
# On AWS `pixelate backfill` runs the stack's state machine: a Distributed Map (one standard execution) lists
# the bucket (ListObjectsV2, 1,000 keys a page), starts one express child execution per batch of ten objects,
# and each child sends its batch with one SendMessageBatch. The pixelate function then takes each message from
# the job queue as it takes an upload's event. Assumptions of the model, beyond the Lambda ones above:
#
# - One standard state transition per child execution started (the map run's own few are left out), plus the
#   child's express request and duration (rounded up to 100 ms, billed in 64 MB chunks: a batch of ten messages
#   is far below the first chunk).
# - SQS: one SendMessageBatch per ten objects (each body is ~200 bytes, one 64 KB request), then one
#   ReceiveMessage and one DeleteMessage(Batch) per object at the event source mapping's BatchSize of 1; the
#   poller's empty receives are left out.
# - S3 per object: HEAD of the source and GET of its status record always; when there is work, GET of the
#   source, PUT of the output and PUT of the status record, and one SNS publish. An object already done for the
#   same ETag and options costs only the HEAD, the status GET and the Lambda time of both.
# - S3 Batch Operations instead of the state machine and the queue (the handler answers it too): a fee per job
#   and per million objects, the Lambda invocations directly, no SQS and no Step Functions.


@dataclass(frozen=True)
class BackfillPrices:
    """List prices of what a backfill uses besides Lambda duration, in one region, and when they were read."""

    sfn_usd_per_transition: float
    express_usd_per_request: float
    express_usd_per_gb_second: float
    sqs_usd_per_request: float
    s3_list_usd_per_request: float
    s3_get_usd_per_request: float
    s3_put_usd_per_request: float
    sns_usd_per_publish: float
    batch_operations_usd_per_job: float
    batch_operations_usd_per_object: float
    as_of: str


#: us-east-1 list prices (Step Functions, SQS standard queue, S3 Standard requests, SNS, S3 Batch Operations),
#: past every free tier, as published by AWS in 2025-2026. Pass your own for another region or date.
US_EAST_1 = BackfillPrices(
    sfn_usd_per_transition=0.025 / 1000,
    express_usd_per_request=1.00 / 1e6,
    express_usd_per_gb_second=0.00001667,
    sqs_usd_per_request=0.40 / 1e6,
    s3_list_usd_per_request=0.005 / 1000,
    s3_get_usd_per_request=0.0004 / 1000,
    s3_put_usd_per_request=0.005 / 1000,
    sns_usd_per_publish=0.50 / 1e6,
    batch_operations_usd_per_job=0.25,
    batch_operations_usd_per_object=1.00 / 1e6,
    as_of="us-east-1 list prices, 2026",
)

#: Objects per SendMessageBatch and per child execution (pixelate.service.events.BACKFILL_BATCH_SIZE).
BACKFILL_BATCH = 10
#: Keys per ListObjectsV2 page.
LIST_PAGE = 1000


def backfill_cost_per_million(prices: BackfillPrices, lambda_price: LambdaPrice, lambda_ms_per_object: float,
                              memory_mb: int, work: bool = True, child_ms: float = 100.0,
                              objects: int = 1_000_000) -> dict[str, float]:
    """US dollars, by line, to backfill ``objects`` objects through the state machine and the job queue.

    ``lambda_ms_per_object`` is the pixelate function's duration for one object (see :func:`lambda_ms`);
    ``work=False`` prices a backfill whose every object is already done (a repeated run): no GET of the source,
    no PUT, no SNS, and ``lambda_ms_per_object`` should then be the check's own short time.
    """
    children = math.ceil(objects / BACKFILL_BATCH)
    express_gb_seconds = children * math.ceil(child_ms / 100) / 10 * 64 / 1024
    s3_gets = objects * (3 if work else 2)
    lines = {
        "s3 listing": math.ceil(objects / LIST_PAGE) * prices.s3_list_usd_per_request,
        "step functions": children * prices.sfn_usd_per_transition + children * prices.express_usd_per_request
        + express_gb_seconds * prices.express_usd_per_gb_second,
        "sqs": (children + 2 * objects) * prices.sqs_usd_per_request,
        "lambda": objects * duration_cost_per_million(lambda_ms_per_object, memory_mb, lambda_price) / 1e6,
        "s3 requests": s3_gets * prices.s3_get_usd_per_request + (2 * objects if work else 0) * prices.s3_put_usd_per_request,
        "sns": (objects if work else 0) * prices.sns_usd_per_publish,
    }
    lines["total"] = sum(lines.values())
    return lines


def batch_operations_cost_per_million(prices: BackfillPrices, lambda_price: LambdaPrice, lambda_ms_per_object: float,
                                      memory_mb: int, work: bool = True, objects: int = 1_000_000) -> dict[str, float]:
    """The same objects through an S3 Batch Operations job invoking the pixelate function (no queue, no state
    machine; the manifest, an inventory report, is priced apart)."""
    s3_gets = objects * (3 if work else 2)
    lines = {
        "batch operations": prices.batch_operations_usd_per_job + objects * prices.batch_operations_usd_per_object,
        "lambda": objects * duration_cost_per_million(lambda_ms_per_object, memory_mb, lambda_price) / 1e6,
        "s3 requests": s3_gets * prices.s3_get_usd_per_request + (2 * objects if work else 0) * prices.s3_put_usd_per_request,
        "sns": (objects if work else 0) * prices.sns_usd_per_publish,
    }
    lines["total"] = sum(lines.values())
    return lines


#: The README's scenarios: (label, Lambda milliseconds per object, whether there is work to do).
BACKFILL_SCENARIOS = (
    ("small photos, 100 ms each", 100.0, True),
    ("12 MP photos, 1 s each", 1000.0, True),
    ("repeated: all already done, 20 ms each", 20.0, False),
)
#: The line items of a backfill, in the order the README's table shows them.
BACKFILL_LINES = ("s3 listing", "step functions", "sqs", "lambda", "s3 requests", "sns", "total")
#: the column heads of those lines, in the README's table
BACKFILL_HEADS = ("S3 listing", "Step Functions", "SQS", "Lambda", "S3 requests", "SNS", "total")


def backfill_cost_markdown(lambda_price: LambdaPrice, memory_mb: int = 2048,
                           prices: BackfillPrices = US_EAST_1) -> str:
    """The README's table: its head, each scenario through the state machine, then the first through S3 Batch
    Operations."""
    rows = ["| per million objects | " + " | ".join(BACKFILL_HEADS) + " |", "|---" * (1 + len(BACKFILL_HEADS)) + "|"]
    for label, ms, work in BACKFILL_SCENARIOS:
        lines = backfill_cost_per_million(prices, lambda_price, ms, memory_mb, work=work)
        rows.append(f"| {label} | " + " | ".join(f"${lines[name]:.2f}" for name in BACKFILL_LINES) + " |")
    label, ms, work = BACKFILL_SCENARIOS[0]
    lines = batch_operations_cost_per_million(prices, lambda_price, ms, memory_mb, work=work)
    rows.append(f"| S3 Batch Operations instead, {label} (its fee ${lines['batch operations']:.2f}) | – | – | – | "
                f"${lines['lambda']:.2f} | ${lines['s3 requests']:.2f} | ${lines['sns']:.2f} | ${lines['total']:.2f} |")
    return "\n".join(rows)
