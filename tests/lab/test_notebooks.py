"""The notebooks, tested like code: each runs with papermill and its defaults in under two minutes and leaves
no process behind; ``pytest --nbval-lax`` runs papermill's executed copies again and compares the cells
marked ``# NBVAL_CHECK_OUTPUT`` with what papermill got; committed notebooks carry no outputs at all. Plus the
package code the notebooks call (cost model, colour error, output hygiene).

The main pytest run never collects ``.ipynb`` files itself (``testpaths = ["tests"]``, and nbval only
collects with ``--nbval*``): the nbval run is the subprocess below, once.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from pixelate.lab import cost, explore, notebook_outputs
from tests.support.paths import REPO

ROOT = REPO
NOTEBOOKS = {
    "explore": ROOT / "notebooks" / "explore.ipynb",
    "benchmark": ROOT / "notebooks" / "benchmark.ipynb",
    "pipeline": ROOT / "notebooks" / "pipeline.ipynb",
    "deploy": ROOT / "deploy.ipynb",
}
EXECUTED = ROOT / "notebooks" / "executed"
KERNEL = "python3"
TIME_LIMIT_S = 120
#: Every process a notebook run starts inherits this variable: how leftovers are found even when orphaned
#: (an orphan is re-parented to init, so comparing our own children alone would miss it).
RUN_MARK = "PIXELATE_NOTEBOOK_TEST_RUN"
#: Notebooks in CI must never reach a real AWS account: fake credentials, no profile, no shared config.
OFFLINE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


# --- running notebooks -------------------------------------------------------------------------------


def notebook_env(mark: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "MPLBACKEND"}
    env.update(OFFLINE_AWS)
    env[RUN_MARK] = mark
    # the kernel is the venv's: papermill runs under this interpreter, and jupyter_client starts the
    # "python3" kernel (argv "python") with the same executable
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def marked_processes(mark: str) -> list[psutil.Process]:
    """Live processes whose environment carries ``mark``."""
    found = []
    for process in psutil.process_iter(["pid"]):
        try:
            if process.environ().get(RUN_MARK) == mark and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
    return found


def leftovers(mark: str, grace_s: float = 10.0) -> list[str]:
    """What is still running with ``mark`` after ``grace_s`` (children get a moment to notice their parent left)."""
    deadline = time.monotonic() + grace_s
    while True:
        alive = marked_processes(mark)
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    described = []
    for process in alive:
        try:
            described.append(f"{process.pid}: {' '.join(process.cmdline())[:200]}")
        except psutil.Error:
            continue
    return described


def run_papermill(path: Path, output: Path, mark: str, *extra: str) -> tuple[subprocess.CompletedProcess, float]:
    command = [
        sys.executable, "-m", "papermill", str(path), str(output),
        "--kernel", KERNEL, "--cwd", str(path.parent), "--no-progress-bar",
        "--execution-timeout", str(TIME_LIMIT_S), *extra,
    ]
    started = time.monotonic()
    done = subprocess.run(command, env=notebook_env(mark), capture_output=True, text=True, timeout=TIME_LIMIT_S + 60)
    return done, time.monotonic() - started


def executed_copy(name: str) -> Path:
    """Where papermill writes the run with defaults (deploy.ipynb's own test writes executed/deploy.ipynb)."""
    path = NOTEBOOKS[name]
    return EXECUTED / (f"{path.stem}-defaults.ipynb" if name == "deploy" else path.name)


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


@pytest.mark.slow
@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_notebook_runs_with_its_defaults_in_under_two_minutes_and_leaves_nothing_running(name):
    path = NOTEBOOKS[name]
    EXECUTED.mkdir(parents=True, exist_ok=True)
    output = executed_copy(name)
    mark = f"{name}-{uuid.uuid4().hex}"
    # Direct children only: the session's browser and local stack (tests/browser) start and end processes of
    # their own at any time (chromium's renderers, a worker the stack restarts); the run's own are found by mark.
    children_before = {child.pid for child in psutil.Process().children(recursive=False)}

    done, elapsed = run_papermill(path, output, mark)

    assert done.returncode == 0, f"{path.name} failed:\n{tail(done.stderr)}"
    assert elapsed < TIME_LIMIT_S, f"{path.name} took {elapsed:.0f} s (limit {TIME_LIMIT_S} s)"
    assert leftovers(mark) == []
    children_after = {child.pid for child in psutil.Process().children(recursive=False)}
    assert children_after <= children_before
    executed = json.loads(output.read_text())
    errors = [o for c in executed["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []


@pytest.mark.slow
def test_pipeline_that_fails_after_starting_its_stack_leaves_nothing_running(tmp_path):
    """A failing cell stops papermill before the last cell: the started stack must still go away."""
    mark = f"pipeline-failing-{uuid.uuid4().hex}"
    done, _ = run_papermill(
        NOTEBOOKS["pipeline"], tmp_path / "failed.ipynb", mark,
        "-p", "STACK_FILE", str(tmp_path / "no-stack.json"),  # force it to start its own stack
        "-y", "PIXEL_SIZES: []",  # the upload plan refuses no pixel size: fails after the stack is up
    )
    assert done.returncode != 0
    assert "ValueError: give at least one pixel size and one method" in done.stdout + done.stderr
    executed = json.loads((tmp_path / "failed.ipynb").read_text())
    started = [c for c in executed["cells"] if "started the local stack" in json.dumps(c.get("outputs", []))]
    assert started, "the stack was not started, so this test proved nothing"
    assert leftovers(mark) == []


@pytest.mark.slow
def test_nbval_lax_reproduces_the_checked_outputs_of_the_executed_copies():
    """nbval runs each executed copy again: the marked cells must give what papermill's run gave."""
    mark = f"nbval-{uuid.uuid4().hex}"
    copies = []
    for name, path in NOTEBOOKS.items():
        copy = executed_copy(name)
        if not copy.exists() or copy.stat().st_mtime < path.stat().st_mtime:  # this test run alone
            EXECUTED.mkdir(parents=True, exist_ok=True)
            done, _ = run_papermill(path, copy, mark)
            assert done.returncode == 0, f"{path.name} failed:\n{tail(done.stderr)}"
        checked = [c for c in notebook_outputs.read(copy)["cells"] if notebook_outputs.is_checked(c)]
        assert all(c.get("outputs") for c in checked), f"{copy.name}: a checked cell has no reference output"
        copies.append(copy)
    command = [
        sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env",
        "--nbval-cell-timeout", str(TIME_LIMIT_S), "-p", "no:cacheprovider", "-q", "-o", "addopts=",
        "--rootdir", str(ROOT), *(str(copy) for copy in copies),
    ]
    done = subprocess.run(command, cwd=ROOT, env=notebook_env(mark), capture_output=True, text=True,
                          timeout=TIME_LIMIT_S * len(NOTEBOOKS) + 120)
    assert done.returncode == 0, tail(done.stdout, 80)
    assert " passed" in done.stdout and " failed" not in done.stdout
    assert leftovers(mark) == []


def test_leftover_check_finds_a_marked_process_and_its_end():
    """The leftover check itself: a process carrying the mark is found, and is gone once it ends."""
    mark = f"probe-{uuid.uuid4().hex}"
    probe = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=notebook_env(mark))
    try:
        assert [p.pid for p in marked_processes(mark)] == [probe.pid]
    finally:
        probe.kill()
        probe.wait()
    assert leftovers(mark, grace_s=0) == []


def test_main_pytest_run_collects_tests_only_not_notebooks():
    """Notebooks are executed by the tests above; the main run must not collect them again through nbval."""
    import tomllib

    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert options["testpaths"] == ["tests"]
    assert "nbval" not in options.get("addopts", "")
    assert not list((ROOT / "tests").rglob("*.ipynb"))


# --- the committed files -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_committed_notebook_has_no_outputs_and_a_parameters_cell(name):
    assert notebook_outputs.problems(notebook_outputs.read(NOTEBOOKS[name])) == []


@pytest.mark.parametrize("name", ["explore", "benchmark", "pipeline"])
def test_notebook_marks_cells_whose_output_nbval_checks(name):
    notebook = notebook_outputs.read(NOTEBOOKS[name])
    assert any(notebook_outputs.is_checked(cell) for cell in notebook["cells"])


def test_python3_kernel_runs_this_environments_interpreter():
    """papermill and nbval start the "python3" kernel: it must be this venv's Python (with ipykernel)."""
    from jupyter_client.manager import start_new_kernel

    manager, kernel = start_new_kernel(kernel_name=KERNEL, env=notebook_env("kernel-check"))
    try:
        printed = []
        kernel.execute_interactive(
            "import sys; print(sys.prefix)",
            timeout=60,
            output_hook=lambda msg: printed.append(msg["content"].get("text", "")) if msg["msg_type"] == "stream" else None,
        )
    finally:
        kernel.stop_channels()
        manager.shutdown_kernel(now=True)
    assert "".join(printed).strip() == sys.prefix


def test_executed_copies_are_ignored_by_git():
    probe = "notebooks/executed/anything.ipynb"
    done = subprocess.run(["git", "check-ignore", "-q", probe], cwd=ROOT)
    assert done.returncode == 0


def test_hygiene_flags_outputs_counts_and_metadata_and_clean_removes_them():
    notebook = {
        "metadata": {"papermill": {}},
        "cells": [
            {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "x = 1", "execution_count": 3,
             "outputs": [{"output_type": "stream", "name": "stdout", "text": "noise"}]},
            {"cell_type": "code", "metadata": {"execution": {}}, "source": "# NBVAL_CHECK_OUTPUT\nprint(x)",
             "execution_count": None, "outputs": []},
        ],
    }
    found = notebook_outputs.problems(notebook)
    assert any("execution count" in p for p in found)
    assert any("has outputs" in p for p in found)
    assert any("execution metadata" in p for p in found)
    cleaned = notebook_outputs.clean(notebook)
    assert notebook_outputs.problems(cleaned) == []
    assert [c["outputs"] for c in cleaned["cells"]] == [[], []]
    assert notebook_outputs.is_checked(cleaned["cells"][1])  # the mark itself stays


# --- the package code behind the notebooks -----------------------------------------------------------

X86 = cost.LambdaPrice("x86_64", 0.0000166667, 0.20, "test")


def test_cost_of_one_gb_second_per_million_is_the_price_times_a_million_plus_requests():
    assert cost.duration_cost_per_million(1000, 1024, X86) == pytest.approx(16.6667 + 0.20, abs=1e-3)
    assert cost.duration_cost_per_million(0.2, 1024, X86) == pytest.approx(1e6 * 0.001 / 1 * 0.0000166667 + 0.2)


def test_below_one_vcpu_time_stretches_and_above_it_does_not_shrink():
    assert cost.lambda_ms(100, cost.FULL_VCPU_MB) == 100
    assert cost.lambda_ms(100, cost.FULL_VCPU_MB // 2) == pytest.approx(200, rel=0.01)
    assert cost.lambda_ms(100, 3008) == 100
    assert cost.lambda_ms(100, 3008, io_ms=50) == 150
    # more memory above one vCPU: same time, bigger bill
    assert cost.cost_per_million(100, 3008, X86) > cost.cost_per_million(100, cost.FULL_VCPU_MB, X86)


def test_work_on_two_threads_stretches_by_its_cpu_time():
    # measured 100 ms here on two cores, 160 ms of CPU: one vCPU needs 160 ms, half a vCPU 320, two need 100
    assert cost.lambda_ms(100, cost.FULL_VCPU_MB, cpu_ms=160) == pytest.approx(160)
    assert cost.lambda_ms(100, cost.FULL_VCPU_MB // 2, cpu_ms=160) == pytest.approx(320, rel=0.01)
    assert cost.lambda_ms(100, 2 * cost.FULL_VCPU_MB, cpu_ms=160) == 100
    rows = cost.cost_table([("two threads", 100.0, 160.0), ("one", 100.0)], [cost.FULL_VCPU_MB], [X86])
    assert [(r["label"], r["lambda_ms"], r["cpu_ms"]) for r in rows] == [("two threads", 160.0, 160.0), ("one", 100.0, None)]
    measured = cost.benchmark_measurements(
        [{"workload": "w", "block": 16, "ok": True, "contender": "project", "ms": 16.0, "cpu_ms": 23.0}], "w", 16
    )
    assert measured == [("project", 16.0, 23.0)]


def test_cost_table_has_a_row_per_label_memory_and_architecture():
    arm = cost.LambdaPrice("arm64", 0.0000133334, 0.20, "test")
    rows = cost.cost_table([("a", 10.0), ("b", 20.0)], [512, 1024], [X86, arm])
    assert len(rows) == 8
    assert {r["architecture"] for r in rows} == {"x86_64", "arm64"}
    best = cost.cheapest(rows)
    assert best["a"]["usd_per_million"] <= min(r["usd_per_million"] for r in rows if r["label"] == "a")


def test_average_is_closer_to_the_original_than_nearest_and_the_tutorial_and_error_grows_with_size():
    samples = explore.sample_photos(names=["chelsea.png"])
    curves = explore.error_curves(explore.error_table(samples, [4, 16], ["average", "nearest", explore.TUTORIAL]))
    by = {method: dict(points) for method, points in curves.items()}
    for size in (4, 16):
        assert by["average"][size] < by["nearest"][size]
        assert by["average"][size] < by[explore.TUTORIAL][size]
    for method in by:
        assert by[method][4] < by[method][16]


def test_identical_images_have_no_error_and_transparent_pixels_do_not_count():
    from PIL import Image

    red = Image.new("RGBA", (8, 8), (255, 0, 0, 255))
    assert explore.mean_abs_error(red, red) == 0
    clear_black = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    clear_white = Image.new("RGBA", (8, 8), (255, 255, 255, 0))
    assert explore.mean_abs_error(clear_black, clear_white) == 0
    assert explore.mean_abs_error(red.convert("RGB"), Image.new("RGB", (8, 8), (0, 0, 0))) == pytest.approx(85)


def test_corpus_cases_keep_transparency_frames_and_turn_images_upright():
    cases = {c.name: c for c in explore.corpus_cases(
        ["transparent.png", "iss634.gif", "hopper_orientation_6.jpg"], 16)}
    assert cases["transparent.png"].after.alpha and explore.transparent_share(cases["transparent.png"].output) > 0.3
    assert cases["iss634.gif"].after.frames == cases["iss634.gif"].before.frames == 42
    assert cases["hopper_orientation_6.jpg"].before.orientation == 6
    assert cases["hopper_orientation_6.jpg"].after.orientation == 1
