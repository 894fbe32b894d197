"""``.pixelate/stack.json``: where a deployed stack is, for every tool that talks to it (the one reader and writer).

It holds the stack's outputs by name (``OriginalsBucket``, ``ProcessedBucket``, ``JobQueueUrl`` …, see
docs/architecture.md), plus ``EndpointUrl`` and ``Region`` for the local stack, and the ``Local`` section
that ``pixelate up`` adds. What a deploy reports beyond the outputs (``Emulation``, ``StackAction``,
``Package``) is shown, not stored.
"""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Mapping

STACK_FILE = Path(".pixelate") / "stack.json"
#: Credentials for the local stack's moto (any will do there); never real ones, which must not travel to it.
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
#: What a deploy returns beyond the outputs, and the stack file leaves out.
NOT_IN_STACK_FILE = ("Emulation", "StackAction", "Package")


def stack_file_path(where: str | Path = ".") -> Path:
    """The stack file of a folder (``<folder>/.pixelate/stack.json``), or ``where`` itself when it names a file."""
    where = Path(where)
    return where if where.suffix == ".json" else where / STACK_FILE


def write_stack_file(outputs: Mapping[str, Any], folder: str | Path = ".") -> Path:
    """Write the outputs (without the emulation report and the deploy's own notes; other entries, such as
    the ``Local`` section `pixelate up` adds, are kept)."""
    path = stack_file_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = {k: v for k, v in outputs.items() if k not in NOT_IN_STACK_FILE}
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # per process: `pixelate deploy` and `up` may both write
    tmp.write_text(json.dumps(flat, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)  # readers never see half a file
    return path


def read_stack_file(where: str | Path = ".") -> dict | None:
    """The outputs in a folder's stack file (or in the file ``where`` names), or None when there is no readable one."""
    try:
        outputs = json.loads(stack_file_path(where).read_text())
    except (OSError, ValueError):
        return None
    return outputs if isinstance(outputs, dict) else None


def forget_stack_file(folder: str | Path = ".", endpoint_url: str | None = None) -> bool:
    """Remove ``.pixelate/stack.json`` if it describes the stack at ``endpoint_url`` (a moto server that is
    being stopped): a file pointing at a dead endpoint would mislead its readers. True when removed."""
    known = read_stack_file(folder)
    if known is None or known.get("EndpointUrl") != endpoint_url:
        return False
    stack_file_path(folder).unlink(missing_ok=True)
    return True


def is_local(outputs: Mapping) -> bool:
    """Whether the outputs describe the local stack (moto's endpoint) rather than AWS."""
    return bool(outputs.get("EndpointUrl"))


def answers(url: str, timeout: float = 2.0) -> bool:
    """Whether anything answers HTTP at ``url`` (an HTTP error is an answer: the server is up)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def is_running(outputs: Mapping | None) -> bool:
    """Whether the stack the outputs describe can be used: a local one must answer; AWS is assumed up."""
    if not outputs or not outputs.get("OriginalsBucket"):
        return False
    return answers(outputs["EndpointUrl"], timeout=1.0) if is_local(outputs) else True
