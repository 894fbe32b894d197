"""Worker processes started afresh (``spawn``), where forking this process is unsafe: how ``pixelate file -j N``
runs outside Linux, and when the caller runs threads (a notebook's kernel, a server).

A window of futures runs ahead of the head of the line, so the workers stay busy behind a slow file while the
answers are read back in the order given. A worker that dies breaks the whole pool; the items in flight with it
are run again one by one, each in a fresh process, so that only the item that kills its worker is reported.
"""
from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable, Generic, Iterator, TypeVar

from pixelate.cli.batch import DIED, WINDOW_PER_WORKER, Item

R = TypeVar("R")


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the main process, which lets the files in hand finish (outputs are written
    whole or not at all) and stops."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class WorkerPool(Generic[R]):
    """Spawned worker processes fed through a bounded window of futures, read back in order."""

    def __init__(self, work: Callable[[Path, Path | None], R], workers: int, crashed: Callable[[Item, str], R]):
        self.work, self.workers, self.crashed = work, workers, crashed
        self.window = workers * WINDOW_PER_WORKER

    def _executor(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_interrupts)

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
