"""The local stack's child processes, and the one channel to them: JSON lines over pipes.

moto's server, the edge and every worker run as ``python -m pixelate.local.<module>`` children, not
multiprocessing ones (spawn would re-import the parent's main script, which breaks any script without a
``__main__`` guard). The parent writes settings as one JSON line to a child's stdin and keeps stdin open; the
child answers JSON lines on a private copy of its stdout, while its own fd 1 goes to stderr (its log), so that
nothing a handler prints (Powertools logs JSON to stdout) can garble the channel. A child stops when its stdin
closes, so a killed parent leaves no orphan, or on SIGTERM.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from typing import Any, Callable

# ------------------------------------------------------------------------------------------- the parent's side


def spawn(module: str, args: list[str] | tuple[str, ...] = (), log_path: str | None = None,
          env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``python -m module args`` with pipes for the channel and its stderr in ``log_path`` (or nowhere)."""
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env, text=True, bufsize=1,
            start_new_session=True,  # Ctrl-C reaches the parent only, which stops its children in order
        )
    finally:
        if log is not subprocess.DEVNULL:
            log.close()


def send(process: subprocess.Popen, message: dict[str, Any]) -> None:
    """Write one JSON line to the child's stdin."""
    process.stdin.write(json.dumps(message) + "\n")
    process.stdin.flush()


def receive(process: subprocess.Popen, timeout: float) -> dict[str, Any]:
    """The child's next message, or ``{}`` when none comes within ``timeout`` or the child has exited."""
    result: dict[str, Any] = {}

    def read() -> None:
        line = process.stdout.readline()
        if line:
            result.update(json.loads(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    return result


def messages(process: subprocess.Popen):
    """Every message the child sends, until it exits (lines that are not JSON objects are skipped)."""
    for line in process.stdout:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict):
            yield message


def stop(process: subprocess.Popen | None, timeout: float = 5.0) -> None:
    """Ask a child to stop (stdin closed, then SIGTERM), and kill it if it lingers."""
    if process is None or process.poll() is not None:
        return
    try:
        if process.stdin:
            process.stdin.close()
        process.terminate()
        process.wait(timeout)
    except (subprocess.TimeoutExpired, OSError):
        process.kill()
        process.wait()


# -------------------------------------------------------------------------------------------- the child's side


class Channel:
    """The child's end: ``say`` answers the parent, ``read`` takes its next message, ``until_parent_gone``
    calls back when stdin closes. Built first thing in a child, before anything can print."""

    def __init__(self) -> None:
        self._out = os.fdopen(os.dup(1), "w", buffering=1)
        os.dup2(2, 1)  # what the child prints goes to its log, never into the channel
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the parent, which stops us in order

    def say(self, **message: Any) -> None:
        self._out.write(json.dumps(message) + "\n")

    @staticmethod
    def read() -> dict[str, Any]:
        return json.loads(sys.stdin.readline())

    @staticmethod
    def until_parent_gone(callback: Callable[[], Any]) -> None:
        """Call ``callback`` (on a thread of its own) once stdin closes: the parent has stopped us or died."""
        threading.Thread(target=lambda: (sys.stdin.read(), callback()), daemon=True).start()
