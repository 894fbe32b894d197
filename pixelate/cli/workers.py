"""The worker processes of ``pixelate file``: items run N at a time, their answers read back in order.

Where this process may fork (Linux, one thread), the workers are forks of it (``fork_pool``): they start in
milliseconds with the planned items, the pipeline and Pillow's decoders already loaded. Elsewhere, and when the
caller runs threads (a fork copies no thread but every lock, held or not), they are spawned (``spawn_pool``),
paying the interpreter and the imports again per worker. Either way an item whose work raises, or whose worker
dies, is an answer of its own (``crashed``) and the others are not lost.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from pixelate.cli.batch import Item

R = TypeVar("R")


def start_method() -> str:
    """``fork`` on Linux while this process runs a single thread (the command's own process qualifies: its
    progress bar runs without tqdm's monitor thread); otherwise ``spawn``."""
    return "fork" if sys.platform == "linux" and threading.active_count() == 1 else "spawn"


def ordered_results(
    items: list[Item],
    work: Callable[[Path, Path | None], R],
    workers: int,
    crashed: Callable[[Item, str], R],
) -> Iterator[tuple[Item, R | None]]:
    """``(item, work(item.source, item.target))`` for every item, in the items' order, as soon as each is known.

    ``work`` runs in this process when ``workers`` is 1 (or one item needs running), else in ``workers``
    processes (spawned ones are sent ``work``, which must then be picklable: a module-level function or a
    ``functools.partial`` of one). An item planned with an ``outcome`` is not run: it comes with ``None``. An
    exception out of ``work`` and a worker process that dies (a crash, the out-of-memory killer) become
    ``crashed(item, message)`` for that item alone.
    """
    runnable = sum(item.outcome is None for item in items)
    if min(workers, runnable) <= 1:
        for item in items:
            yield item, None if item.outcome is not None else _call(work, item, crashed)
        return
    if start_method() == "fork":
        from pixelate.cli import fork_pool  # (imports nothing the command has not)

        yield from fork_pool.results(items, work, min(workers, runnable), crashed)
    else:
        from pixelate.cli import spawn_pool  # multiprocessing and concurrent.futures: only here

        yield from spawn_pool.WorkerPool(work, min(workers, runnable), crashed).results(items)


def _call(work: Callable[[Path, Path | None], R], item: Item, crashed: Callable[[Item, str], R]) -> R:
    try:
        return work(item.source, item.target)
    except Exception as exc:  # a bug or an I/O error: this item's answer, not the end of the run
        return crashed(item, f"{type(exc).__name__}: {exc}")
