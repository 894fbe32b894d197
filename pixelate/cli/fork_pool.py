"""Worker processes forked from this one and fed through pipes: how ``pixelate file -j N`` runs on Linux.

A worker is a fork of the command after planning: it inherits the planned items, the work and the loaded
pipeline, so a job is an item's index (4 bytes down a pipe) and an answer one pickle back up another. There is
no ``multiprocessing`` or ``concurrent.futures`` to import and no helper thread: against the
``ProcessPoolExecutor`` this replaced (still used where a fork is unsafe, ``spawn_pool``), a run of 24 photos
with ``-j 2`` went from 0.76 to 0.73 of ``-j 1`` (``tools/bench_file_jobs.py``, README), the start-up they
share being most of what ``-j 2`` cannot halve.

Each worker holds at most ``AHEAD`` jobs and does them in order, saying when it starts one. When a worker dies
(a crash, the out-of-memory killer) its jobs that had not started go back to the queue, and the one it was
doing is tried once more by a fresh worker: an item that kills a worker twice is reported (``crashed``) and
nothing else is lost. Only the parent reads answers, and it yields them in the items' order.
"""
from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import sys
from collections import deque
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from pixelate.cli.batch import DIED, WINDOW_PER_WORKER, Item

#: Jobs a worker may hold at once: one to do and one waiting, so it never idles while the parent reads an answer.
#: Every worker gets its first job before any gets a second, so a short run uses every worker.
AHEAD = 2
#: How many times an item may take a worker down with it before it is reported: once may be the machine's doing
#: (the out-of-memory killer picks the largest process), twice is the item's.
DEATHS_ALLOWED = 1

#: A frame up the answer pipe: the item's index, then the answer's length, or ``STARTED`` when work begins on it.
_FRAME = struct.Struct("<ii")
STARTED = -1
#: The parent's ends of the pipes of every worker alive, of every pool: a worker forked later closes its copies, or
#: a worker of another pool would never see its jobs pipe end (two pools at once would wait for each other).
_PARENT_ENDS: set[int] = set()

R = TypeVar("R")


class _Worker:
    """One forked worker: its pid, the parent's ends of its two pipes, and the jobs sent to it, oldest first."""

    def __init__(self, pid: int, jobs: int, answers: int):
        self.pid, self.jobs, self.answers = pid, jobs, answers
        self.sent: deque[int] = deque()
        self.started: int | None = None
        self.unread = bytearray()


def results(items: list[Item], work: Callable[[Path, Path | None], R], workers: int,
            crashed: Callable[[Item, str], R]) -> Iterator[tuple[Item, R | None]]:
    """``(item, work(item.source, item.target))`` for every item, in order, from ``workers`` forked processes; an
    item planned with an ``outcome`` comes with ``None``. See ``pixelate.cli.workers.ordered_results``."""
    queue = deque(index for index, item in enumerate(items) if item.outcome is None)
    answers: dict[int, R] = {}
    deaths: dict[int, int] = {}
    pool: dict[int, _Worker] = {}  # by the fd of its answer pipe
    poller = select.poll()

    def start() -> None:
        worker = _fork(items, work, crashed)
        pool[worker.answers] = worker
        poller.register(worker.answers, select.POLLIN)

    def died(worker: _Worker) -> None:
        poller.unregister(worker.answers)
        del pool[worker.answers]
        _close(worker)
        os.waitpid(worker.pid, 0)
        if worker.started is not None:
            index = worker.started
            worker.sent.remove(index)
            deaths[index] = deaths.get(index, 0) + 1
            if deaths[index] > DEATHS_ALLOWED:
                answers[index] = crashed(items[index], DIED)
            else:
                queue.appendleft(index)
        ordered = sorted([*queue, *worker.sent])  # sent, never started: as if never sent; oldest first again, as
        queue.clear()                             # the window is counted from the queue's head
        queue.extend(ordered)
        if queue:
            start()

    head, window = 0, max(1, workers) * WINDOW_PER_WORKER
    try:
        for _ in range(min(workers, len(queue))):
            start()
        while True:
            while head < len(items) and (items[head].outcome is not None or head in answers):
                item = items[head]
                yield item, None if item.outcome is not None else answers.pop(head)
                head += 1
            if head == len(items):
                return
            # Jobs are sent after the head moved, right before waiting: the item at the head is always in the
            # window, so something is in flight whenever the poll waits.
            for depth in range(1, AHEAD + 1):
                for worker in pool.values():
                    if len(worker.sent) >= depth or not queue or queue[0] >= head + window:
                        continue
                    index = queue.popleft()
                    try:
                        os.write(worker.jobs, struct.pack("<i", index))
                    except BrokenPipeError:  # it died since the last poll: its answer pipe says so next
                        queue.appendleft(index)
                        continue
                    worker.sent.append(index)
            for fd, _ in poller.poll():
                worker = pool[fd]
                data = os.read(fd, 1 << 16)
                if not data:
                    died(worker)
                    continue
                worker.unread += data
                for index, started, answer in _frames(worker):
                    if started:
                        worker.started = index
                    else:
                        worker.sent.remove(index)
                        worker.started = None
                        answers[index] = answer
    finally:
        # Done, Ctrl-C or a consumer that stopped early: no more jobs, and no more answers read (a worker writing
        # one gets EPIPE instead of waiting for a reader). A file in hand is finished: its output is written
        # before its answer; a job not yet started is dropped.
        for worker in pool.values():
            _close(worker)
        for worker in pool.values():
            os.waitpid(worker.pid, 0)


def _frames(worker: _Worker):
    """The whole frames read so far from ``worker``: ``(index, True, None)`` when work started on an item,
    ``(index, False, answer)`` for its answer. What is consumed is cut from the buffer once, at the end (cutting
    per frame, or copying the rest on each read, would make a large answer cost the square of its size)."""
    buffer, offset = worker.unread, 0
    try:
        while len(buffer) - offset >= _FRAME.size:
            index, length = _FRAME.unpack_from(buffer, offset)
            if length == STARTED:
                offset += _FRAME.size
                yield index, True, None
                continue
            end = offset + _FRAME.size + length
            if len(buffer) < end:
                return
            with memoryview(buffer)[offset + _FRAME.size:end] as payload:
                answer = pickle.loads(payload)
            offset = end
            yield index, False, answer
    finally:
        del buffer[:offset]


def _close(worker: _Worker) -> None:
    for fd in (worker.jobs, worker.answers):
        _PARENT_ENDS.discard(fd)
        try:
            os.close(fd)
        except OSError:
            pass


def _fork(items: list[Item], work, crashed) -> _Worker:
    jobs_in, jobs_out = os.pipe()
    answers_in, answers_out = os.pipe()
    for stream in (sys.stdout, sys.stderr):  # lines printed but not yet written must not be written twice
        if stream is not None:
            stream.flush()
    try:
        pid = os.fork()
    except OSError:
        for fd in (jobs_in, jobs_out, answers_in, answers_out):
            os.close(fd)
        raise
    if pid:
        os.close(jobs_in)
        os.close(answers_out)
        _PARENT_ENDS.update((jobs_out, answers_in))
        return _Worker(pid, jobs_out, answers_in)
    # The worker. It must never return into the parent's code (its generator, its caller): it leaves by _exit.
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it lets the jobs in hand finish
        for fd in (jobs_out, answers_in, *_PARENT_ENDS):  # other workers' pipes: a copy here would hide their end
            os.close(fd)
        _serve(jobs_in, answers_out, items, work, crashed)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _serve(jobs: int, answers: int, items: list[Item], work, crashed) -> None:
    """The worker's loop: read an index, say it started, do the work, send the answer; until the jobs pipe ends."""
    while (index := _read_index(jobs)) is not None:
        _write(answers, _FRAME.pack(index, STARTED))
        item = items[index]
        try:
            answer = work(item.source, item.target)
            payload = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # a bug or an I/O error, or an answer that cannot be pickled: this item's answer
            payload = pickle.dumps(crashed(item, f"{type(exc).__name__}: {exc}"), pickle.HIGHEST_PROTOCOL)
        _write(answers, _FRAME.pack(index, len(payload)) + payload)


def _read_index(fd: int) -> int | None:
    data = b""
    while len(data) < 4:
        chunk = os.read(fd, 4 - len(data))
        if not chunk:
            return None
        data += chunk
    return struct.unpack("<i", data)[0]


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
