"""A progress bar for notebooks that reads right once the notebook is saved or exported.

``tqdm.auto`` draws a widget whose saved text is the state it was *created* in ("0/6" for a run that ended
6/6), and a text bar leaves every intermediate line in the saved output. This one is a single display output
(text and HTML) replaced in place as the work goes on: live in JupyterLab, and its last state is what papermill,
nbconvert and a saved notebook keep. Outside IPython it prints one line at the end.

It has the parts of tqdm's interface the package's callers use: wrapping an iterable
(``client.upload_files(progress=Progress)``), ``total=``/``update()``/``close()`` (``client.wait_for_status``),
and :meth:`step` for callbacks that announce each piece of work as it starts (``run_benchmark(progress=...)``).
"""
from __future__ import annotations

import html
import sys
import time
from typing import Iterable

#: seconds between two redraws (the last state is always drawn)
REDRAW_S = 0.2
_WIDTH = 24


class Progress:
    """``Progress(iterable, desc=, unit=, total=)`` or ``Progress(total=, desc=, unit=)``."""

    def __init__(self, iterable: Iterable | None = None, total: int | None = None, desc: str = "", unit: str = "it",
                 **_ignored):
        self.iterable = iterable
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        self.desc, self.unit = desc, unit
        self.done, self.note = 0, ""
        self.started = time.monotonic()
        self.closed = False
        self._drawn_at = 0.0
        self._handle = _display(self._bundle())

    # --- tqdm's parts -------------------------------------------------------------------------------------

    def __iter__(self):
        try:
            for item in self.iterable or ():
                yield item
                self.update(1)
        finally:
            self.close()

    def update(self, n: int = 1) -> None:
        self.done += n
        self._draw()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._draw(force=True)
        if self._handle is None:
            print(self.text(), file=sys.stderr)

    # --- for callbacks that say what starts next ----------------------------------------------------------

    def step(self, message: str) -> None:
        """A piece of work starts: the one before it is done (the first call counts nothing)."""
        if self.note:
            self.done += 1
        self.note = message
        self._draw()

    def finish(self) -> None:
        """The last piece announced by :meth:`step` is done too."""
        if self.note:
            self.done += 1
            self.note = ""
        self.close()

    # --- drawing ------------------------------------------------------------------------------------------

    def summary(self) -> str:
        """The state in words: count, unit, time, and what is under way (or that it ended)."""
        count = f"{self.done}/{self.total}" if self.total is not None else str(self.done)
        unit = f"{self.unit}{'s' if self.unit and self.done != 1 else ''}"
        finished = self.total is None or self.done >= self.total
        state = (" · done" if finished else " · stopped") if self.closed else (f" · now: {self.note}" if self.note else "")
        return f"{count} {unit} · {time.monotonic() - self.started:.1f} s{state}"

    def text(self) -> str:
        bar = ""
        if self.total:
            filled = round(_WIDTH * min(1.0, self.done / self.total))
            bar = "|" + "█" * filled + "·" * (_WIDTH - filled) + "| "
        return f"{self.desc}: {bar}{self.summary()}"

    def _bundle(self) -> dict:
        value = f' value="{self.done}" max="{self.total}"' if self.total else ""
        return {"text/plain": self.text(),
                "text/html": f"<div><code>{html.escape(self.desc)}</code> <progress{value} style='width:12em'></progress>"
                             f" {html.escape(self.summary())}</div>"}

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._handle is None or (not force and now - self._drawn_at < REDRAW_S):
            return
        self._drawn_at = now
        self._handle.update(self._bundle(), raw=True)


def _display(bundle: dict):
    """A display handle in IPython (None elsewhere)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return None
    if get_ipython() is None:
        return None
    return display(bundle, raw=True, display_id=True)
