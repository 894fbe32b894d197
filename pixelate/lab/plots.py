"""Figures for ``explore.ipynb``: each function takes plain data and returns a matplotlib ``Figure``.

matplotlib is imported inside each function, so importing this module (or the package) costs nothing and
the Lambda never sees it. Pixelated images are drawn with ``interpolation="nearest"`` so blocks keep their
edges on screen; transparency is shown on a checkerboard. (The benchmark's figures are in ``bench_plots``.)
"""
from __future__ import annotations

from typing import Iterable, Sequence

from PIL import Image

from pixelate.lab import contact_sheet, explore

CHECKER = ((204, 204, 204), (255, 255, 255))
#: the grids drawn over images: the service's and the tutorial code's
GRID_STYLE = {"average": dict(color="#00e5ff", linestyle="-"), "nearest": dict(color="#00e5ff", linestyle="-"),
              explore.TUTORIAL: dict(color="#ff2bd6", linestyle="--")}
#: the boxes drawn over images: what the service pixelated, by source
BOX_COLOURS = {"manual": "#00e5ff", "face": "#ffd400"}


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def on_checkerboard(image: Image.Image, step: int | None = None) -> Image.Image:
    """The image over a grey-and-white checkerboard, so transparent parts are visible as such."""
    step = step or max(2, min(image.size) // 32)  # finer than any block shown, so the two never blend
    return contact_sheet.on_checkerboard(image, step, CHECKER)


def _show(ax, image: Image.Image, title: str = "", fontsize: int = 9) -> None:
    ax.imshow(on_checkerboard(image) if image.has_transparency_data else image.convert("RGB"), interpolation="nearest")
    ax.set_title(title, fontsize=fontsize)
    ax.set_axis_off()


# --- pixel sizes and methods ----------------------------------------------------------------------------


def detail_grid(name: str, data: bytes, sizes: Sequence[int], methods: Sequence[str],
                boxes: dict[str, tuple[int, int, int, int]], cell: float = 1.9):
    """One photo: the whole original once (the details outlined), then per detail the original crop and, per
    method, the same crop of the whole photo pixelated at each size, zoomed so every block shows."""
    plt = _pyplot()
    from matplotlib.gridspec import GridSpec
    from matplotlib.patches import Rectangle

    original = explore.decode(data)
    results = {(method, size): explore.pixelated(data, size, method) for method in methods for size in sizes}
    rows = len(boxes) * len(methods)
    fig = plt.figure(figsize=(cell * (2.4 + len(sizes)), cell * rows + 0.5))
    grid = GridSpec(rows, 2 + len(sizes), figure=fig, width_ratios=[1.4, 1] + [1] * len(sizes))
    whole = fig.add_subplot(grid[:, 0])
    _show(whole, original, f"{name}\n{original.width}×{original.height} px")
    for row, (detail, box) in enumerate(boxes.items()):
        whole.add_patch(Rectangle((box[0] - 0.5, box[1] - 0.5), box[2], box[3], fill=False, color="#ffd400", lw=1.5))
        whole.text(box[0], box[1] - 4, detail, color="#ffd400", fontsize=8, va="bottom",
                   bbox=dict(facecolor="black", alpha=0.5, pad=1, lw=0))
        first = row * len(methods)
        _show(fig.add_subplot(grid[first:first + len(methods), 1]), explore.crop(original, box),
              f"original: {detail}\n{box[2]}×{box[3]} px")
        for offset, method in enumerate(methods):
            for column, size in enumerate(sizes):
                ax = fig.add_subplot(grid[first + offset, 2 + column])
                _show(ax, explore.crop(results[method, size], box), f"{method}, {size} px")
    fig.tight_layout()
    return fig


def _grid_lines(ax, method: str, image_size: tuple[int, int], size: int, box=None, width: float = 0.6) -> None:
    """The block edges of ``method`` at ``size`` over an image (or its crop ``box``) drawn with ``imshow``."""
    left, top, w, h = box or (0, 0, *image_size)
    style = GRID_STYLE[method]
    for x in explore.block_edges(image_size[0], size, method):
        if left < x < left + w:
            ax.axvline(x - left - 0.5, lw=width, alpha=0.9, **style)
    for y in explore.block_edges(image_size[1], size, method):
        if top < y < top + h:
            ax.axhline(y - top - 0.5, lw=width, alpha=0.9, **style)


def comparison(data: bytes, size: int, methods: Sequence[str], title: str = "", cell: float = 3.0, corner: int = 5):
    """One image at one pixel size: the original beside each method's result, with its colour error (top row);
    below, the bottom-right corner of each (``corner`` blocks a side) with its block grid drawn, where a grid
    stretched to fit a whole number of blocks has drifted furthest from the one asked for."""
    plt = _pyplot()
    original = explore.decode(data)
    width, height = original.size
    side = min(width, height, corner * size + size // 2)
    box = (width - side, height - side, side, side)
    fig, axes = plt.subplots(2, 1 + len(methods), figsize=(cell * (1 + len(methods)), cell * 2.05), squeeze=False)
    _show(axes[0][0], original, f"{title or 'original'}\n{width}×{height} px")
    _show(axes[1][0], explore.crop(original, box), f"bottom-right {side}×{side} px\n"
          + ("grids: asked (cyan), tutorial (magenta)" if explore.TUTORIAL in methods else "the grid asked"))
    for method in ("average", explore.TUTORIAL) if explore.TUTORIAL in methods else ("average",):
        _grid_lines(axes[1][0], method, original.size, size, box, width=1.0)
    for column, method in enumerate(methods, start=1):
        result = explore.pixelated(data, size, method)
        error = explore.mean_abs_error(original, result)
        if method == explore.TUTORIAL:
            block_w, block_h = explore.tutorial_block(original.size, size)
            blocks = f"blocks {block_w:.1f}×{block_h:.1f} px"
        else:
            blocks = f"blocks {size}×{size} px"
        _show(axes[0][column], result, f"{method}, {size} px asked\nmean error {error:.1f} levels")
        _show(axes[1][column], explore.crop(result, box), blocks)
        _grid_lines(axes[1][column], method, original.size, size, box, width=1.0)
    fig.tight_layout()
    return fig


def error_plot(curves: dict[str, list[tuple[int, float]]], photos: Sequence[str] = ()):
    """Mean absolute colour error against pixel size, one line per method (averaged over ``photos``)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for method, points in curves.items():
        sizes, errors = zip(*points)
        ax.plot(sizes, errors, marker="o", label=method, linestyle="--" if method == explore.TUTORIAL else "-")
    ax.set_xscale("log", base=2)
    ax.set_xticks([size for size, _ in next(iter(curves.values()))])
    ax.get_xaxis().set_major_formatter(_plain_ticks())
    ax.set_xlabel("pixel size (block side, px)")
    ax.set_ylabel("mean absolute error (levels of 255)")
    over = f"mean over {len(photos)} photos" if len(photos) > 1 else (photos[0] if photos else "")
    ax.set_title("Colour error against the original" + (f"\n({over})" if over else ""), fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def _plain_ticks():
    from matplotlib.ticker import ScalarFormatter

    formatter = ScalarFormatter()
    formatter.set_scientific(False)
    return formatter


# --- transparency, animation, orientation ---------------------------------------------------------------


def transparency_panels(cases: Iterable["explore.Case"], size: int, cell: float = 2.4):
    """Per file: the original, every channel averaged as it is (transparent pixels' hidden colour included) and
    the service's alpha-weighted average, at the same pixel size."""
    plt = _pyplot()
    cases = list(cases)
    fig, axes = plt.subplots(len(cases), 3, figsize=(cell * 3, cell * len(cases) + 0.3), squeeze=False)
    for row, case in enumerate(cases):
        original, output = explore.decode(case.original), explore.decode(case.output)
        unweighted = explore.unweighted_average(original, size)
        darker = explore.darkening(original, unweighted, output)
        note = "" if darker is None else (f"\npartly clear blocks {abs(darker):.0f} levels "
                                          f"{'darker' if darker > 0 else 'lighter'}")
        _show(axes[row][0], original, f"{case.name}\noriginal", fontsize=8)
        _show(axes[row][1], unweighted, f"unweighted mean, {size} px{note}", fontsize=8)
        _show(axes[row][2], output, f"alpha-weighted (service), {size} px", fontsize=8)
    fig.tight_layout()
    return fig


def case_panels(cases: Iterable["explore.Case"], size: int | None = None, cell: float = 2.6):
    """Per file: the pixels as stored, the image as displayed (its EXIF orientation applied), and the output."""
    plt = _pyplot()
    cases = list(cases)
    fig, axes = plt.subplots(len(cases), 3, figsize=(cell * 3, cell * len(cases) + 0.3), squeeze=False)
    for row, case in enumerate(cases):
        stored = explore.decode(case.original, upright=False)
        panels = [
            (stored, f"{case.name}\nas stored ({stored.width}×{stored.height})"),
            (explore.decode(case.original), f"as displayed (orientation {case.before.orientation})"),
            (explore.decode(case.output), f"pixelated{f', {size} px' if size else ''} ({case.after.format})"),
        ]
        for column, (image, title) in enumerate(panels):
            _show(axes[row][column], image, title, fontsize=8)
    fig.tight_layout()
    return fig


def frame_strip(case: "explore.Case", shown: int = 6, cell: float = 1.6):
    """``shown`` frames spread over the whole animation (top) and the output frame on screen at the same moment
    (bottom)."""
    plt = _pyplot()
    pairs = explore.spread_frames(case, shown)
    fig, axes = plt.subplots(2, len(pairs), figsize=(cell * len(pairs), cell * 2 + 0.6), squeeze=False)
    for column, pair in enumerate(pairs):
        when = f"{pair.start_ms} ms" if case.before.frames > 1 else ""
        _show(axes[0][column], pair.before, f"in: frame {pair.index + 1}\n{when}", fontsize=8)
        _show(axes[1][column], pair.after, f"out: frame {pair.out_index + 1}", fontsize=8)
    fig.suptitle(f"{case.name}: {case.before.frames} frames in, {case.after.frames} out"
                 f" (frames shown: {', '.join(str(p.index + 1) for p in pairs)})", fontsize=10)
    fig.tight_layout()
    return fig


# --- hiding regions and faces ---------------------------------------------------------------------------


def _boxes(ax, boxes: Sequence[dict], offset: tuple[int, int] = (0, 0), label: bool = True, asked=()) -> None:
    """The boxes pixelated (solid, labelled with source and block) and the regions asked (dashed white)."""
    from matplotlib.patches import Rectangle

    for x, y, w, h in asked:
        ax.add_patch(Rectangle((x - offset[0] - 0.5, y - offset[1] - 0.5), w, h, fill=False, color="white", lw=1.0,
                               linestyle=(0, (3, 2))))
    for box in boxes:
        colour = BOX_COLOURS.get(box["source"], "#00e5ff")
        x, y = box["x"] - offset[0] - 0.5, box["y"] - offset[1] - 0.5
        ax.add_patch(Rectangle((x, y), box["w"], box["h"], fill=False, color=colour, lw=1.6))
        if label:
            above = y > 0.08 * ax.get_ylim()[0]  # room above the box, or the label goes inside it
            ax.text(x + 2, y - 3 if above else y + 3, f"{box['source']}, block {box['block']}", color=colour, fontsize=7,
                    va="bottom" if above else "top", bbox=dict(facecolor="black", alpha=0.55, pad=1, lw=0))


def hidden_panels(views: Sequence, cell: float = 2.7):
    """Per photo (a ``hiding.Hidden``): the original with the regions asked (dashed) and the boxes the service
    pixelated (solid), the result, a zoom on the first box before and after (its border shows where pixelation
    stops), and the changed pixels in red."""
    from pixelate.lab import hiding

    plt = _pyplot()
    fig, axes = plt.subplots(len(views), 5, figsize=(cell * 5, cell * len(views) + 0.2), squeeze=False)
    for row, view in enumerate(views):
        before, after = explore.decode(view.original), explore.decode(view.result.data)
        _show(axes[row][0], before, f"{view.name}\n{view.asked}", fontsize=8)
        _boxes(axes[row][0], view.boxes, asked=view.asked_boxes)
        _show(axes[row][1], after, f"result: {len(view.boxes)} box{'es' if len(view.boxes) != 1 else ''} pixelated",
              fontsize=8)
        if view.boxes:
            zoom = hiding.zoom_box(view.boxes[0], before.size)
            _show(axes[row][2], explore.crop(before, zoom), "zoom, before", fontsize=8)
            _show(axes[row][3], explore.crop(after, zoom), "zoom, after", fontsize=8)
            _boxes(axes[row][3], view.boxes, offset=zoom[:2], label=False, asked=view.asked_boxes)
        else:
            for column in (2, 3):
                axes[row][column].set_axis_off()
            axes[row][2].text(0.5, 0.5, "nothing to zoom on:\nno box pixelated", ha="center", va="center", fontsize=9,
                              transform=axes[row][2].transAxes)
        changed = hiding.changed_mask(before, after)
        faded = Image.blend(before.convert("RGB"), Image.new("RGB", before.size, (255, 255, 255)), 0.6)
        faded.paste((230, 30, 30), mask=changed)
        found = hiding.changes(view)
        _show(axes[row][4], faded, f"changed pixels (red)\n{found.outside} outside the boxes", fontsize=8)
    fig.tight_layout()
    return fig


# --- the live view --------------------------------------------------------------------------------------


def figure_png(fig, dpi: int = 80) -> bytes:
    """A figure as PNG bytes, and the figure closed (so the inline backend does not draw it again)."""
    import io

    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def comparison_widget(samples: dict[str, bytes], methods: Sequence[str], size: int = 16, max_size: int = 64,
                      photo: str | None = None):
    """A photo menu and a pixel-size slider over an image of :func:`comparison`, redrawn on every change.

    The figure is shown as an ``Image`` widget (PNG bytes) rather than through ``interact``'s ``Output``
    widget: output capture through widgets can stall headless execution (papermill/nbclient), and an image
    value needs no capture at all.
    """
    import ipywidgets as widgets

    menu = widgets.Dropdown(options=list(samples), value=photo if photo in samples else None, description="photo")
    if menu.value is None:
        menu.value = next(iter(samples))
    slider = widgets.IntSlider(value=size, min=2, max=max_size, step=1, description="pixel size", continuous_update=False)
    image = widgets.Image(format="png")

    def redraw(_change=None) -> None:
        image.value = figure_png(comparison(samples[menu.value], slider.value, methods, title=menu.value))

    menu.observe(redraw, names="value")
    slider.observe(redraw, names="value")
    redraw()

    class LiveView(widgets.VBox):
        def __repr__(self) -> str:  # what a saved or exported copy shows in place of the widget
            return "[live view: a photo menu and a pixel-size slider; run this notebook in JupyterLab to use it]"

    return LiveView([widgets.HBox([menu, slider]), image])
