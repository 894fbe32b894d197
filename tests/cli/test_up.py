"""`pixelate up` and its folder's stack file: one live stack per folder, a stale file replaced, and never a file
removed that the stack did not write (no stack is started here: tests/local/test_up.py starts real ones)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pixelate.cli import up
from pixelate.deploy.stackfile import read_stack_file, write_stack_file
from pixelate.local.stack import LocalStack, stack_in_use
from tests.support.moto import free_port


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def local_file(folder: Path, supervisor: int | None, endpoint: str) -> dict:
    document = {"EndpointUrl": endpoint, "Region": "us-east-1", "OriginalsBucket": "originals",
                "DistributionUrl": "http://127.0.0.1:1"}
    if supervisor is not None:
        document["Local"] = {"Processes": {"Supervisor": supervisor, "Workers": []}}
    write_stack_file(document, folder)
    return document


def test_a_file_whose_up_process_lives_is_in_use_and_names_it(tmp_path):
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        local_file(tmp_path, alive.pid, f"http://127.0.0.1:{free_port()}")
        reason = stack_in_use(tmp_path)
    finally:
        alive.kill()
        alive.wait()
    assert reason and f"pid {alive.pid}" in reason and "http://127.0.0.1:1" in reason and "another folder" in reason


def test_a_file_left_by_a_dead_process_is_replaceable(tmp_path):
    local_file(tmp_path, dead_pid(), f"http://127.0.0.1:{free_port()}")
    assert stack_in_use(tmp_path) is None
    local_file(tmp_path, None, f"http://127.0.0.1:{free_port()}")  # a deploy's file, its moto gone
    assert stack_in_use(tmp_path) is None
    assert stack_in_use(tmp_path / "nothing-here") is None


def test_a_file_whose_moto_answers_is_in_use(tmp_path, moto_endpoint):
    local_file(tmp_path, None, moto_endpoint)  # written by `pixelate deploy` to a moto that still runs
    assert moto_endpoint in (stack_in_use(tmp_path) or "")


def test_an_aws_stack_file_is_not_replaced(tmp_path):
    write_stack_file({"OriginalsBucket": "originals-on-aws", "Region": "eu-west-1"}, tmp_path)
    assert "AWS" in (stack_in_use(tmp_path) or "")


def test_up_refuses_a_folder_whose_stack_runs_and_leaves_its_file(tmp_path, monkeypatch, capsys):
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        document = local_file(tmp_path, alive.pid, f"http://127.0.0.1:{free_port()}")
        monkeypatch.chdir(tmp_path)
        args = type("Args", (), {"quiet": True})()
        assert up.run(args) == 1
    finally:
        alive.kill()
        alive.wait()
    error = capsys.readouterr().err
    assert f"pid {alive.pid}" in error and "Stop it first" in error
    assert read_stack_file(tmp_path) == document


def written_stack(folder: Path) -> LocalStack:
    """A LocalStack that has written its stack file (as if started; nothing runs)."""
    stack = LocalStack(folder=folder)
    stack.outputs = {"EndpointUrl": "http://127.0.0.1:1", "DistributionUrl": "http://127.0.0.1:2"}
    stack.stack_document = lambda: {**stack.outputs, "Local": {"Processes": stack.processes()}}
    stack.write_stack_file()
    return stack


def test_stop_removes_only_the_file_this_stack_wrote(tmp_path):
    stack = written_stack(tmp_path)
    assert read_stack_file(tmp_path)["Local"]["Processes"]["Supervisor"] == os.getpid()
    other = local_file(tmp_path, os.getpid() + 1, "http://127.0.0.1:3")  # another stack wrote the folder's file since
    assert stack.stop() is False
    assert read_stack_file(tmp_path) == other

    mine = written_stack(tmp_path / "mine")
    assert mine.stop() is True and read_stack_file(tmp_path / "mine") is None


def test_a_stack_that_did_not_start_leaves_the_folders_file(tmp_path):
    document = json.loads(json.dumps(local_file(tmp_path, None, "http://127.0.0.1:1")))
    stack = LocalStack(folder=tmp_path)
    stack.stop()  # as start() does when it fails before writing anything
    assert read_stack_file(tmp_path) == document
