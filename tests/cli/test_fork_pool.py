"""The forked workers of ``pixelate file -j N``: answers in order, an item that kills its worker reported alone
(after one more try), nothing lost, and no worker left behind however the run ends."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pixelate.cli import fork_pool
from pixelate.cli.batch import DIED, Item, Outcome

pytestmark = [pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only"),
              pytest.mark.timeout(120)]  # a lost job would leave the pool waiting for it: fail, not hang


def items(*names: str, planned: tuple[str, ...] = ()) -> list[Item]:
    return [Item(name, Path(name), None, 1, Outcome("skipped", "exists", "kept") if name in planned else None)
            for name in names]


def crashed(item: Item, message: str) -> str:
    return f"crashed {item.name}: {message}"


def named(source: Path, target: Path | None) -> str:
    return f"done {source.name} in {os.getpid()}"


def dies_on_crash(source: Path, target: Path | None) -> str:
    if "crash" in source.name:
        os._exit(70)  # as a segfault or the out-of-memory killer would end it
    if "raise" in source.name:
        raise ValueError(f"a bug met {source.name}")
    if "lambda" in source.name:
        return lambda: None  # cannot be pickled back
    return named(source, target)


def dies_once(marker_dir: Path):
    """Work that kills its worker the first time it meets a file named ``flaky`` (a marker file remembers)."""
    def work(source: Path, target: Path | None) -> str:
        marker = marker_dir / source.name
        if source.name.startswith("flaky") and not marker.exists():
            marker.touch()
            os._exit(70)
        return named(source, target)
    return work


@pytest.fixture
def forked(monkeypatch) -> list[int]:
    """The pids of the workers the pool forks, as it forks them."""
    pids, fork = [], fork_pool._fork

    def recording(*args):
        worker = fork(*args)
        pids.append(worker.pid)
        return worker

    monkeypatch.setattr(fork_pool, "_fork", recording)
    return pids


def reaped(pid: int) -> bool:
    """Whether the worker ``pid`` has ended and been waited for (no zombie, no process left running)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_answers_come_in_order_from_every_worker_and_planned_items_are_not_run(forked):
    planned = items(*(f"{i:02d}.jpg" for i in range(30)), planned=("03.jpg", "17.jpg"))
    answers = list(fork_pool.results(planned, named, 3, crashed))
    assert [item.name for item, _ in answers] == [item.name for item in planned]
    assert [answer for item, answer in answers if item.name in ("03.jpg", "17.jpg")] == [None, None]
    done = [answer for _, answer in answers if answer is not None]
    assert all(answer.startswith("done ") for answer in done) and len(done) == 28
    assert len({answer.rsplit(" ", 1)[1] for answer in done}) > 1  # the work was shared out
    assert str(os.getpid()) not in {answer.rsplit(" ", 1)[1] for answer in done}  # none of it in this process
    assert forked and all(reaped(pid) for pid in forked)


def test_an_item_that_kills_its_worker_twice_is_reported_alone_and_a_raise_or_unpicklable_answer_too(forked):
    names = ["a.jpg", "crash.jpg", "c.jpg", "raise.jpg", "e.jpg", "lambda.jpg", "g.jpg", "h.jpg", "i.jpg"]
    answers = dict((item.name, answer) for item, answer in fork_pool.results(items(*names), dies_on_crash, 2, crashed))
    assert list(answers) == names
    assert answers.pop("crash.jpg") == f"crashed crash.jpg: {DIED}"
    # it killed 1 + DEATHS_ALLOWED workers; each was replaced while work was left to do
    assert 2 + 1 <= len(forked) <= 2 + 1 + fork_pool.DEATHS_ALLOWED
    assert answers.pop("raise.jpg") == "crashed raise.jpg: ValueError: a bug met raise.jpg"
    assert answers.pop("lambda.jpg").startswith("crashed lambda.jpg: ")  # pickling's own error, said
    assert all(answer.startswith("done ") for answer in answers.values())
    assert forked and all(reaped(pid) for pid in forked)


def test_a_worker_that_dies_once_loses_nothing_and_its_file_is_tried_again(tmp_path, forked):
    names = [f"{i:02d}.jpg" for i in range(6)] + ["flaky.jpg"] + [f"{i:02d}.jpg" for i in range(6, 12)]
    answers = list(fork_pool.results(items(*names), dies_once(tmp_path), 2, crashed))
    assert [item.name for item, _ in answers] == names
    assert all(answer.startswith("done ") for _, answer in answers)  # flaky.jpg too, on its second try
    assert (tmp_path / "flaky.jpg").exists() and len(forked) == 3
    assert forked and all(reaped(pid) for pid in forked)


def test_stopping_early_leaves_no_worker_behind_and_starts_no_new_file(tmp_path, forked):
    def work(source: Path, target: Path | None) -> str:
        (tmp_path / source.name).touch()
        return named(source, target)

    names = [f"{i:03d}.jpg" for i in range(200)]
    answers = fork_pool.results(items(*names), work, 2, crashed)
    assert next(answers)[0].name == "000.jpg"
    answers.close()  # as Ctrl-C or a closed stdout ends the command's loop
    assert forked and all(reaped(pid) for pid in forked)
    started = len(list(tmp_path.iterdir()))
    # the other worker may have gone on while 000 was being done, but never past the window, and nothing starts
    # once the pool is closed
    assert started <= 1 + 2 * fork_pool.WINDOW_PER_WORKER + 2 * fork_pool.AHEAD
    time.sleep(0.2)
    assert len(list(tmp_path.iterdir())) == started


def test_a_slow_first_file_does_not_let_the_others_run_past_the_window(tmp_path, forked):
    def work(source: Path, target: Path | None) -> str:
        if source.name == "000.jpg":
            time.sleep(1.0)
        (tmp_path / source.name).touch()
        return named(source, target)

    answers = fork_pool.results(items(*[f"{i:03d}.jpg" for i in range(300)]), work, 2, crashed)
    assert next(answers)[0].name == "000.jpg"
    window = 2 * fork_pool.WINDOW_PER_WORKER
    assert window // 2 < len(list(tmp_path.iterdir())) <= 1 + window + 2 * fork_pool.AHEAD  # went on, then waited
    assert len(list(answers)) == 299


def test_every_worker_gets_a_job_before_any_gets_two(forked):
    def work(source: Path, target: Path | None) -> int:
        time.sleep(0.3)
        return os.getpid()

    pids = [answer for _, answer in fork_pool.results(items("a.jpg", "b.jpg"), work, 2, crashed)]
    assert len(set(pids)) == 2


def test_an_answer_of_any_value_comes_back_and_large_ones_quickly(forked):
    big = b"x" * (32 << 20)

    def work(source: Path, target: Path | None):
        return {"minus.jpg": -1, "none.jpg": None, "big.jpg": big}[source.name]

    start = time.perf_counter()
    answers = [answer for _, answer in fork_pool.results(items("minus.jpg", "none.jpg", "big.jpg"), work, 2, crashed)]
    assert answers[:2] == [-1, None] and answers[2] == big  # -1 is not taken for "started"
    assert time.perf_counter() - start < 10  # it took 4.7 s when each read copied what was left (0.1 s now)


def test_two_pools_at_once_each_end(forked):
    first = fork_pool.results(items("a1.jpg", "a2.jpg", "a3.jpg"), named, 2, crashed)
    second = fork_pool.results(items("b1.jpg", "b2.jpg", "b3.jpg"), named, 2, crashed)
    pairs = [(a[0].name, b[0].name) for a, b in zip(first, second)]  # each waits on the other's workers' end
    assert pairs == [("a1.jpg", "b1.jpg"), ("a2.jpg", "b2.jpg"), ("a3.jpg", "b3.jpg")]
    assert list(second) == []  # zip stopped at the first's end
    assert forked and all(reaped(pid) for pid in forked)


def test_a_fork_that_fails_leaves_no_worker_behind(monkeypatch, forked):
    calls = []
    fork = os.fork

    def third_fails():
        calls.append(1)
        if len(calls) == 3:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        return fork()

    monkeypatch.setattr(fork_pool.os, "fork", third_fails)
    with pytest.raises(BlockingIOError):
        list(fork_pool.results(items(*[f"{i}.jpg" for i in range(8)]), named, 4, crashed))
    assert len(forked) == 2 and all(reaped(pid) for pid in forked)


def test_the_command_forks_and_a_process_with_threads_spawns():
    """In a fresh interpreter (this test process may hold other tests' server threads)."""
    code = ("import threading; from pixelate.cli import workers; print(workers.start_method()); "
            "threading.Thread(target=threading.Event().wait, args=(5,), daemon=True).start(); print(workers.start_method())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["fork", "spawn"]
