"""benchmark.ipynb's figures and cost helpers: one colour per contender in every figure, the architecture as the
line style, and what the assumed I/O time carries of the bill."""
from __future__ import annotations

from pixelate.lab import bench_plots, cost

PRICES = [cost.LambdaPrice("x86_64", 0.0000166667, 0.20, "test"), cost.LambdaPrice("arm64", 0.0000133334, 0.20, "test")]


def _rows():
    return cost.cost_table([("project", 20.0, 19.0), ("tutorial", 90.0, 88.0)], [512, 1024], PRICES, io_ms=60)


def test_each_contender_keeps_its_colour_and_each_architecture_its_line_style():
    import matplotlib

    matplotlib.use("Agg")
    fig = bench_plots.cost_plot(_rows(), subtitle="x")
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert set(lines) == {"project, x86_64", "project, arm64", "tutorial, x86_64", "tutorial, arm64"}
    assert lines["project, x86_64"].get_color() == lines["project, arm64"].get_color() == bench_plots.COLOURS["project"]
    assert lines["tutorial, arm64"].get_color() == bench_plots.COLOURS["tutorial"]
    assert lines["project, arm64"].get_linestyle() == "--" and lines["project, x86_64"].get_linestyle() == "-"
    rows = [{"contender": "opencv", "megapixels": 2, "ms": 5}, {"contender": "project", "megapixels": 2, "ms": 4},
            {"contender": "project", "megapixels": 12, "ms": 20}]
    fig = bench_plots.metric_plot(rows, "megapixels", "ms", "contender")
    colours = {line.get_label(): line.get_color() for line in fig.axes[0].get_lines()}
    assert colours == {"project": bench_plots.COLOURS["project"], "opencv": bench_plots.COLOURS["opencv"]}


def test_the_io_share_and_sensitivity_follow_the_assumed_io_time():
    rows = _rows()
    cheapest = cost.cheapest(rows)["project"]
    assert 0 < cost.io_share(cheapest, 60) < 1
    assert cost.io_share(cheapest, 60) == 60 / cheapest["lambda_ms"]
    table = cost.io_sensitivity([("project", 20.0, 19.0)], [512, 1024], PRICES, [0, 60, 120])
    bills = [row["usd_per_million"] for row in table]
    assert [row["io_ms"] for row in table] == [0, 60, 120] and bills == sorted(bills) and bills[0] < bills[-1]
