"""`pixelate up` as a user runs it: a subprocess in a folder of its own, on free ports, with no AWS configuration."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3

from tests.support.moto import free_port

START_TIMEOUT_S = 120


def user_env() -> dict[str, str]:
    """A user's shell with no AWS configuration at all: `pixelate up` needs none."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    return env


class UpProcess:
    """A running `pixelate up` and what it wrote."""

    def __init__(self, cwd: Path, *arguments: str):
        self.cwd = cwd
        self.log_path = cwd / "up.log"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pixelate.cli", "up", "--port", str(free_port()), *arguments],
                cwd=cwd, env=user_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.outputs = self.wait_for_stack_file()

    @property
    def stack_file(self) -> Path:
        return self.cwd / ".pixelate" / "stack.json"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_stack_file(self) -> dict:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"pixelate up exited {self.process.returncode}:\n{self.log()[-3000:]}"
            if self.stack_file.exists():
                return json.loads(self.stack_file.read_text())
            time.sleep(0.2)
        raise TimeoutError(self.log()[-3000:])

    def stack(self) -> dict:
        return json.loads(self.stack_file.read_text())

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.outputs["EndpointUrl"], region_name=self.outputs["Region"],
                            aws_access_key_id="anything", aws_secret_access_key="anything")

    def stop(self, signum=signal.SIGINT, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
                raise
        return self.process.returncode
