"""The backfill cost model (pixelate.lab.cost): each line computed by hand from the stated assumptions."""
from __future__ import annotations

import pytest

from pixelate.lab import cost
from pixelate.service.events import BACKFILL_BATCH_SIZE

ARM = cost.LambdaPrice("arm64", 0.0000133334, 0.20, "test")


def test_a_million_objects_with_work_to_do():
    lines = cost.backfill_cost_per_million(cost.US_EAST_1, ARM, lambda_ms_per_object=100, memory_mb=2048)
    children = 1_000_000 / 10
    assert lines["s3 listing"] == pytest.approx(1000 * 0.005 / 1000)  # 1,000 keys per ListObjectsV2 page
    # a transition and an express request per child, 100 ms x 64 MB of express duration each
    assert lines["step functions"] == pytest.approx(children * (0.025 / 1000 + 1e-6) + children * 0.1 * 0.0625 * 0.00001667)
    assert lines["sqs"] == pytest.approx((children + 2_000_000) * 0.40 / 1e6)  # send per batch; receive + delete each
    assert lines["lambda"] == pytest.approx(1e6 * (0.1 * 2 * 0.0000133334) + 0.20)
    assert lines["s3 requests"] == pytest.approx(3e6 * 0.0004 / 1000 + 2e6 * 0.005 / 1000)  # head, status, get; 2 puts
    assert lines["sns"] == pytest.approx(0.50)
    assert lines["total"] == pytest.approx(sum(v for k, v in lines.items() if k != "total"))
    assert lines["total"] == pytest.approx(18.02, abs=0.01)


def test_a_repeated_backfill_costs_the_checks_only():
    again = cost.backfill_cost_per_million(cost.US_EAST_1, ARM, lambda_ms_per_object=20, memory_mb=2048, work=False)
    assert again["sns"] == 0 and again["s3 requests"] == pytest.approx(2e6 * 0.0004 / 1000)
    assert again["step functions"] == cost.backfill_cost_per_million(cost.US_EAST_1, ARM, 100, 2048)["step functions"]
    assert again["total"] < 5


def test_batches_follow_the_message_batch_size():
    assert cost.BACKFILL_BATCH == BACKFILL_BATCH_SIZE
    ten = cost.backfill_cost_per_million(cost.US_EAST_1, ARM, 100, 2048, objects=10)
    eleven = cost.backfill_cost_per_million(cost.US_EAST_1, ARM, 100, 2048, objects=11)
    assert eleven["step functions"] == pytest.approx(2 * ten["step functions"])  # a second child for one object


def test_batch_operations_replace_the_state_machine_and_the_queue():
    lines = cost.batch_operations_cost_per_million(cost.US_EAST_1, ARM, 100, 2048)
    assert set(lines) == {"batch operations", "lambda", "s3 requests", "sns", "total"}
    assert lines["batch operations"] == pytest.approx(0.25 + 1.00)
    backfill = cost.backfill_cost_per_million(cost.US_EAST_1, ARM, 100, 2048)
    assert lines["lambda"] == backfill["lambda"] and lines["s3 requests"] == backfill["s3 requests"]


def test_the_readme_table_is_the_model():
    from tests.support.paths import REPO

    arm = cost.LambdaPrice("arm64", 0.0000133334, 0.20, "2026")
    assert cost.backfill_cost_markdown(arm, 2048) in (REPO / "README.md").read_text()
