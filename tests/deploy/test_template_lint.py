"""The template passes cfn-lint and checkov (suppressions only in resource Metadata, each with a reason)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pixelate.deploy.template import load_template, template_path
from tests.support.paths import REPO

TEMPLATE = REPO / "cloudformation.yaml"


def _tool(name: str) -> str | None:
    """The tool in this venv, on PATH, or in the tools venv (.tools, where `make install` puts checkov)."""
    for candidate in (Path(sys.executable).parent / name, shutil.which(name), REPO / ".tools" / "bin" / name):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _require(name: str) -> str:
    tool = _tool(name)
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is missing on CI: `make install` installs it")
        pytest.skip(f"{name} is not installed (make install)")
    return tool


def test_the_package_finds_the_same_template():
    assert template_path().resolve() == TEMPLATE.resolve()


def test_cfn_lint_reports_nothing():
    result = subprocess.run([_require("cfn-lint"), str(TEMPLATE)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


@pytest.mark.slow
def test_checkov_fails_no_check():
    # --skip-download: no call to Prisma Cloud (no network on CI, and nothing it would add)
    result = subprocess.run(
        [_require("checkov"), "--quiet", "--compact", "--skip-download", "-o", "json", "-f", str(TEMPLATE)],
        capture_output=True, text=True, timeout=300,
    )
    import json

    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']}" for c in report["results"]["failed_checks"]]
    assert summary["failed"] == 0, failed
    assert summary["passed"] > 30  # it did check the resources
    assert result.returncode == 0


def test_every_checkov_suppression_gives_its_reason():
    skips = [
        (name, skip)
        for name, resource in load_template()["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips, "expected the documented suppressions"
    for name, skip in skips:
        assert skip["id"].startswith(("CKV_", "CKV2_")), (name, skip)
        assert len(skip.get("comment", "")) > 40, f"{name}: {skip['id']} needs a written reason"
    text = TEMPLATE.read_text()
    assert "checkov:skip=" not in text  # no inline suppressions outside Metadata
