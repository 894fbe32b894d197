"""Figures for ``benchmark.ipynb``: benchmark rows in, a matplotlib ``Figure`` out.

Every contender has one colour in every figure (``COLOURS``), and so has each method; in the cost figure the
architecture is the line style. matplotlib is imported inside each function (nothing for the Lambda to see).
"""
from __future__ import annotations

from typing import Sequence

#: one colour per contender and per method, the same in every figure
COLOURS = {
    "project": "#1f77b4", "tutorial": "#d62728", "tutorial-frames": "#ff9896", "libvips": "#2ca02c", "opencv": "#ff7f0e",
    "average": "#1f77b4", "nearest": "#9467bd",
}
#: the line style of each Lambda architecture
ARCHITECTURE_STYLES = {"x86_64": "-", "arm64": "--"}
#: the order lines are drawn and listed in
ORDER = ("project", "tutorial", "tutorial-frames", "libvips", "opencv", "average", "nearest")


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def _order(label: str) -> tuple[int, str]:
    head = label.split(" / ")[0]
    return (ORDER.index(head) if head in ORDER else len(ORDER), label)


def metric_plot(rows: Sequence[dict], x: str, y: str, series: str, title: str = "", logy: bool = False,
                xlabel: str | None = None, ylabel: str | None = None, xticks: Sequence | None = None):
    """A line per distinct value of the ``series`` field (a contender or a method, in its colour), ``y`` against
    ``x``; rows without both values are left out."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    groups: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        if row.get(y) is None or row.get(x) is None:
            continue
        groups.setdefault(str(row[series]), []).append((row[x], row[y]))
    for label in sorted(groups, key=_order):
        points = sorted(groups[label])
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker="o", label=label, color=COLOURS.get(label), lw=2.2 if label == "project" else 1.5)
    if logy:
        ax.set_yscale("log")
    if xticks is not None:
        ax.set_xticks(list(xticks))
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or y)
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def cost_plot(rows: Sequence[dict], subtitle: str = ""):
    """Cost per million images against Lambda memory: a colour per contender, a line style per architecture."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    groups: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for row in rows:
        groups.setdefault((row["label"], row["architecture"]), []).append((row["memory_mb"], row["usd_per_million"]))
    for label, architecture in sorted(groups, key=lambda key: (_order(key[0]), key[1])):
        points = sorted(groups[label, architecture])
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker="o", color=COLOURS.get(label), linestyle=ARCHITECTURE_STYLES.get(architecture, ":"),
                label=f"{label}, {architecture}", lw=2.2 if label == "project" else 1.5)
    memories = sorted({row["memory_mb"] for row in rows})
    ax.set_xticks(memories)
    ax.set_xlabel("Lambda memory (MB)")
    ax.set_ylabel("USD per million images")
    ax.set_title("Lambda cost per million images" + (f"\n{subtitle}" if subtitle else ""), fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig
