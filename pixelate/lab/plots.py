"""Figures for the notebooks: each function takes plain data and returns a matplotlib ``Figure``.

matplotlib is imported inside each function, so importing this module (or the package) costs nothing and
the Lambda never sees it. Pixelated images are drawn with ``interpolation="nearest"`` so blocks keep their
edges on screen; transparency is shown on a checkerboard.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from PIL import Image

from pixelate.lab import contact_sheet, explore

CHECKER = ((204, 204, 204), (255, 255, 255))


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def on_checkerboard(image: Image.Image, step: int | None = None) -> Image.Image:
    """The image over a grey-and-white checkerboard, so transparent parts are visible as such."""
    step = step or max(2, min(image.size) // 32)  # finer than any block shown, so the two never blend
    return contact_sheet.on_checkerboard(image, step, CHECKER)


def _show(ax, image: Image.Image, title: str = "") -> None:
    ax.imshow(on_checkerboard(image) if image.has_transparency_data else image.convert("RGB"), interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()


def sample_grid(samples: dict[str, bytes], sizes: Sequence[int], methods: Sequence[str], cell: float = 2.0):
    """One row per (sample, method): the original, then the pixelated image at each pixel size."""
    plt = _pyplot()
    rows = [(name, method) for name in samples for method in methods]
    fig, axes = plt.subplots(len(rows), 1 + len(sizes), figsize=(cell * (1 + len(sizes)), cell * len(rows)), squeeze=False)
    for row, (name, method) in enumerate(rows):
        data = samples[name]
        _show(axes[row][0], explore.decode(data), f"{name}\n({method})")
        for column, size in enumerate(sizes, start=1):
            _show(axes[row][column], explore.pixelated(data, size, method), f"{method}, {size} px")
    fig.tight_layout()
    return fig


def comparison(data: bytes, size: int, methods: Sequence[str], title: str = "", cell: float = 3.2):
    """One image at one pixel size: the original beside each method's result, with its colour error."""
    plt = _pyplot()
    original = explore.decode(data)
    fig, axes = plt.subplots(1, 1 + len(methods), figsize=(cell * (1 + len(methods)), cell), squeeze=False)
    _show(axes[0][0], original, title or "original")
    for column, method in enumerate(methods, start=1):
        result = explore.pixelated(data, size, method)
        error = explore.mean_abs_error(original, result)
        _show(axes[0][column], result, f"{method}, {size} px\nmean error {error:.1f} levels")
    fig.tight_layout()
    return fig


def error_plot(curves: dict[str, list[tuple[int, float]]]):
    """Mean absolute colour error against pixel size, one line per method."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for method, points in curves.items():
        sizes, errors = zip(*points)
        ax.plot(sizes, errors, marker="o", label=method)
    ax.set_xscale("log", base=2)
    ax.set_xticks([size for size, _ in next(iter(curves.values()))])
    ax.get_xaxis().set_major_formatter(_plain_ticks())
    ax.set_xlabel("pixel size (block side, px)")
    ax.set_ylabel("mean absolute error vs original (levels of 255)")
    ax.set_title("How far each method's colours are from the original")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def _plain_ticks():
    from matplotlib.ticker import ScalarFormatter

    formatter = ScalarFormatter()
    formatter.set_scientific(False)
    return formatter


def case_panels(cases: Iterable["explore.Case"], stored: bool = True, cell: float = 2.4):
    """Per corpus file: the pixels as stored (if ``stored``), the image as displayed, and the output."""
    plt = _pyplot()
    cases = list(cases)
    columns = 3 if stored else 2
    fig, axes = plt.subplots(len(cases), columns, figsize=(cell * columns, cell * len(cases)), squeeze=False)
    for row, case in enumerate(cases):
        panels = [(explore.decode(case.original, upright=False), "as stored")] if stored else []
        panels += [
            (explore.decode(case.original), "as displayed" if stored else "original"),
            (explore.decode(case.output), f"pixelated ({case.after.format})"),
        ]
        for column, (image, title) in enumerate(panels):
            _show(axes[row][column], image, f"{case.name}\n{title}" if column == 0 else title)
    fig.tight_layout()
    return fig


def frame_strip(case: "explore.Case", limit: int = 8, cell: float = 1.6):
    """The first frames of an animation before (top row) and after pixelation (bottom row)."""
    plt = _pyplot()
    before = explore.frames(case.original, limit)
    after = explore.frames(case.output, limit)
    columns = max(len(before), len(after))
    fig, axes = plt.subplots(2, columns, figsize=(cell * columns, cell * 2 + 0.4), squeeze=False)
    for row, strip in enumerate((before, after)):
        for column in range(columns):
            ax = axes[row][column]
            if column < len(strip):
                _show(ax, strip[column], f"{'in' if row == 0 else 'out'} {column + 1}")
            else:
                ax.set_axis_off()
    fig.suptitle(f"{case.name}: {case.before.frames} frames in, {case.after.frames} out", fontsize=10)
    fig.tight_layout()
    return fig


def metric_plot(rows: Sequence[dict], x: str, y: str, series: Sequence[str], title: str = "", logy: bool = False,
                xlabel: str | None = None, ylabel: str | None = None):
    """A line per distinct value of the ``series`` fields, ``y`` against ``x``, from benchmark-style rows."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    groups: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        if row.get(y) is None or row.get(x) is None:
            continue
        label = " / ".join(str(row.get(field)) for field in series)
        groups.setdefault(label, []).append((row[x], row[y]))
    for label, points in sorted(groups.items()):
        points.sort()
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker="o", label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or y)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def cost_plot(rows: Sequence[dict], title: str = "Lambda cost per million images"):
    """Cost per million images against Lambda memory size, one line per (label, architecture)."""
    return metric_plot(rows, "memory_mb", "usd_per_million", ("label", "architecture"), title=title,
                       xlabel="Lambda memory (MB)", ylabel="USD per million images")


def figure_png(fig, dpi: int = 80) -> bytes:
    """A figure as PNG bytes, and the figure closed (so the inline backend does not draw it again)."""
    import io

    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def comparison_widget(samples: dict[str, bytes], methods: Sequence[str], size: int = 16, max_size: int = 64):
    """A photo menu and a pixel-size slider over an image of :func:`comparison`, redrawn on every change.

    The figure is shown as an ``Image`` widget (PNG bytes) rather than through ``interact``'s ``Output``
    widget: output capture through widgets can stall headless execution (papermill/nbclient), and an image
    value needs no capture at all.
    """
    import ipywidgets as widgets

    photo = widgets.Dropdown(options=list(samples), description="photo")
    slider = widgets.IntSlider(value=size, min=2, max=max_size, step=2, description="pixel size", continuous_update=False)
    image = widgets.Image(format="png")

    def redraw(_change=None) -> None:
        image.value = figure_png(comparison(samples[photo.value], slider.value, methods, title=photo.value))

    photo.observe(redraw, names="value")
    slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([photo, slider]), image])
