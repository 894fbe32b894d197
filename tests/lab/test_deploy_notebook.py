"""papermill runs deploy.ipynb with TARGET="local" (a moto server of its own) and tears the stack down."""
from __future__ import annotations

import json
import uuid

import pytest

from tests.support.paths import REPO

NOTEBOOK = REPO / "deploy.ipynb"
EXECUTED = REPO / "notebooks" / "executed"


def test_notebook_is_committed_without_outputs():
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 and 'TARGET = "local"' in "".join(tagged[0]["source"])


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_deploy_notebook_runs_locally_and_tears_down(tmp_path):
    papermill = pytest.importorskip("papermill")
    EXECUTED.mkdir(parents=True, exist_ok=True)
    output = EXECUTED / "deploy.ipynb"
    stack_name = f"nb{uuid.uuid4().hex[:8]}"
    # state_folder: a folder of its own, so a local stack running in the repository is neither found nor touched
    papermill.execute_notebook(
        str(NOTEBOOK), str(output), cwd=str(REPO), kernel_name="python3", progress_bar=False,
        parameters={"TARGET": "local", "STACK_NAME": stack_name, "STATE_FOLDER": str(tmp_path), "TEARDOWN": True},
    )
    executed = json.loads(output.read_text())
    text = "\n".join(
        "".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/html", ""))
        for c in executed["cells"] if c["cell_type"] == "code" for o in c["outputs"]
    )
    assert "started for this run" in text
    assert f"stack {stack_name}: created" in text
    assert "no AWS account, credentials or charges" in text
    # the local target builds no Lambda package from an index: the source-only zip it uploads
    assert "source only" in text and "moto stores it and never runs it" in text and "manylinux" not in text
    assert "JobQueueUrl" in text and "stood in for by the local stack" in text
    assert "no page or API URL" in text and "what was done" in text and "resources: " in text
    assert f"stack {stack_name} deleted" in text and "moto server stopped" in text
    # the stack file was written (the outputs cell shows its path), then removed with the server it described
    assert f"written to {tmp_path}/.pixelate/stack.json" in text
    assert "its stack file was removed" in text and not (tmp_path / ".pixelate" / "stack.json").exists()
