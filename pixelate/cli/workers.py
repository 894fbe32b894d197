"""The worker processes of ``pixelate file``: items run N at a time, their answers read back in order.

A window of futures runs ahead of the head of the line, so the workers stay busy behind a slow file while the
answers are printed in the order given. A worker that dies breaks the whole pool; the items in flight with it
are run again one by one, each in a fresh process, so that only the item that kills its worker is reported.
"""
from __future__ import annotations

import multiprocessing
import signal
import sys
import threading
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable, Generic, Iterator, TypeVar

from pixelate.cli.batch import Item

#: Answers the pool may owe at once, per worker: enough to keep every worker busy behind a slow head.
WINDOW_PER_WORKER = 16
#: What an item whose worker died is told.
DIED = "the worker process died while pixelating this file (a crash, or out of memory)"

R = TypeVar("R")


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the main process, which lets the files in hand finish (outputs are written
    whole or not at all) and stops."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _context() -> multiprocessing.context.BaseContext:
    """``fork`` on Linux: a worker starts in milliseconds with the pipeline and Pillow's decoders already loaded
    (``spawn`` pays the interpreter and the imports again per worker, a large share of a folder of small
    photos). Only while this process runs a single thread: a fork copies no thread but every lock, held or not
    (the command's own process qualifies: its progress bar runs without tqdm's monitor thread, and a broken
    pool is shut down before the next starts). Otherwise, and on other systems, ``spawn``."""
    safe_to_fork = sys.platform == "linux" and threading.active_count() == 1
    return multiprocessing.get_context("fork" if safe_to_fork else "spawn")


class WorkerPool(Generic[R]):
    """Worker processes fed through a bounded window of futures, read back in order."""

    def __init__(self, work: Callable[[Path, Path | None], R], workers: int, crashed: Callable[[Item, str], R]):
        self.work, self.workers, self.crashed = work, workers, crashed
        self.window = workers * WINDOW_PER_WORKER

    def _executor(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(workers, mp_context=_context(), initializer=_ignore_interrupts)

    def _submit(self, executor: ProcessPoolExecutor, item: Item) -> Future:
        try:
            return executor.submit(self.work, item.source, item.target)
        except BrokenProcessPool as exc:  # the pool broke since the last answer: this item is run again below
            failed: Future = Future()
            failed.set_exception(exc)
            return failed

    def results(self, items: list[Item]) -> Iterator[tuple[Item, R | None]]:
        pending: deque[tuple[Item, Future | None]] = deque()
        upcoming = iter(items)
        executor = self._executor(self.workers)
        try:
            while True:
                while len(pending) < self.window and (item := next(upcoming, None)) is not None:
                    pending.append((item, None if item.outcome is not None else self._submit(executor, item)))
                if not pending:
                    return
                item, future = pending[0]
                if future is None:
                    pending.popleft()
                    yield item, None
                    continue
                try:
                    result = future.result()
                except BrokenProcessPool:
                    executor.shutdown(wait=True)
                    pending = deque(self._isolate(pending))
                    executor = self._executor(self.workers)
                    continue
                except Exception as exc:  # raised by work(), or its answer could not be pickled
                    result = self.crashed(item, f"{type(exc).__name__}: {exc}")
                pending.popleft()
                yield item, result
        finally:
            # Ctrl-C or a consumer that stops early: drop what has not started, let the files in hand finish.
            executor.shutdown(wait=True, cancel_futures=True)

    def _isolate(self, pending: deque[tuple[Item, Future | None]]) -> Iterator[tuple[Item, Future | None]]:
        """The window after a worker died: each item the break took down run again alone, in a fresh process,
        so only the item that kills its worker is reported as crashed."""
        for item, future in pending:
            if future is None or (future.done() and not isinstance(future.exception(), BrokenProcessPool)):
                yield item, future  # planned, or answered before the break
                continue
            alone = Future()
            with self._executor(1) as single:
                try:
                    alone.set_result(single.submit(self.work, item.source, item.target).result())
                except BrokenProcessPool:
                    alone.set_result(self.crashed(item, DIED))
                except Exception as exc:
                    alone.set_result(self.crashed(item, f"{type(exc).__name__}: {exc}"))
            yield item, alone


def ordered_results(
    items: list[Item],
    work: Callable[[Path, Path | None], R],
    workers: int,
    crashed: Callable[[Item, str], R],
) -> Iterator[tuple[Item, R | None]]:
    """``(item, work(item.source, item.target))`` for every item, in the items' order, as soon as each is known.

    ``work`` runs in this process when ``workers`` is 1 (or one item needs running), else in ``workers``
    processes (``work`` must then be picklable: a module-level function or a ``functools.partial`` of one).
    An item planned with an ``outcome`` is not run: it comes with ``None``. An exception out of ``work`` and a
    worker process that dies (a crash, the out-of-memory killer) become ``crashed(item, message)`` for that
    item alone: the items that were in flight with it are run again one by one, each in a fresh process.
    """
    runnable = sum(item.outcome is None for item in items)
    if min(workers, runnable) <= 1:
        for item in items:
            yield item, None if item.outcome is not None else _call(work, item, crashed)
        return
    yield from WorkerPool(work, min(workers, runnable), crashed).results(items)


def _call(work: Callable[[Path, Path | None], R], item: Item, crashed: Callable[[Item, str], R]) -> R:
    try:
        return work(item.source, item.target)
    except Exception as exc:  # a bug or an I/O error: this item's answer, not the end of the run
        return crashed(item, f"{type(exc).__name__}: {exc}")
