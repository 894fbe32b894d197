"""The dependency locks (requirements/*.txt, `make lock`): every package pinned with hashes, in step with
pyproject.toml, and what `make install` and the Lambda package install."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement

from pixelate.deploy import locks, package
from tests.support.paths import REPO

LOCKS = [locks.LAMBDA_LOCK, locks.DEV_LOCK, locks.TOOLS_LOCK]
#: Where the locks are read: this machine's Python (the dev and tools locks are universal).
HERE = {"python_version": "3.11", "python_full_version": "3.11.7", "sys_platform": "linux",
        "platform_system": "Linux", "platform_machine": "x86_64", "implementation_name": "cpython",
        "platform_python_implementation": "CPython", "os_name": "posix"}


def _entries(lock: Path) -> list[tuple[str, str, str, list[str]]]:
    """(name, version, marker, hashes) of each requirement of a lock (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", lock.read_text())
    out = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", line)
        requirement = Requirement(line.split(" --hash", 1)[0].strip())
        out.append((locks.normal_name(requirement.name), str(requirement.specifier), str(requirement.marker or ""), hashes))
    return out


def _pins_here(lock: Path) -> dict[str, str]:
    return {name: spec.removeprefix("==") for name, spec, marker, _ in _entries(lock)
            if not marker or Marker(marker).evaluate(HERE)}


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_every_package_is_pinned_with_the_hashes_of_its_files(lock):
    entries = _entries(lock)
    assert len(entries) > 5
    for name, spec, _, hashes in entries:
        assert re.fullmatch(r"==[^,*]+", spec), (name, spec)  # one exact version, no range, no wildcard
        assert hashes, f"{name} has no hash"


def test_the_lambda_lock_has_a_wheel_for_every_runtime_and_architecture():
    # "every file of the version" (uv's --generate-hashes): numpy's x86_64 and aarch64 wheels, for several Pythons
    numpy, = [hashes for name, _, _, hashes in _entries(locks.LAMBDA_LOCK) if name == "numpy"]
    assert len(numpy) >= 2 * len({s.python_version for s in locks.LAMBDA_TARGETS})
    assert {s.arch for s in locks.LAMBDA_TARGETS} == {"x86_64", "arm64"}
    assert {s.python_version for s in locks.LAMBDA_TARGETS} == {"3.12", "3.13", "3.14"}


def test_the_lambda_lock_is_what_pyproject_asks_for_and_no_more_than_lambda_needs():
    pinned = _pins_here(locks.LAMBDA_LOCK)
    for requirement in map(Requirement, package.runtime_requirements()):
        name = locks.normal_name(requirement.name)
        assert name in pinned and requirement.specifier.contains(pinned[name], prereleases=True), (requirement, pinned.get(name))
    assert not set(pinned) & set(package.PROVIDED_BY_RUNTIME)  # boto3 & co come with the runtime
    written = (REPO / "requirements" / "lambda.in").read_text().splitlines()
    assert [line for line in written if not line.startswith("#")] == package.runtime_requirements()  # in step


def test_the_dev_lock_is_what_pyproject_asks_for_and_agrees_with_the_lambda_lock():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted, todo = list(project["dependencies"]), list(extras["dev"])
    while todo:  # expand pixelate[local,notebooks,bench]
        requirement = Requirement(todo.pop())
        if requirement.name == "pixelate":
            todo += [r for extra in requirement.extras for r in extras[extra]]
        else:
            wanted.append(str(requirement))
    wanted += [line for line in (REPO / "requirements" / "build.in").read_text().splitlines() if line and not line.startswith("#")]
    pinned = _pins_here(locks.DEV_LOCK)
    for requirement in map(Requirement, wanted):
        name = locks.normal_name(requirement.name)
        assert name in pinned and requirement.specifier.contains(pinned[name], prereleases=True), (requirement, pinned.get(name))
    # the tests run the versions the Lambda runs
    lambda_pins = _pins_here(locks.LAMBDA_LOCK)
    assert {n: v for n, v in lambda_pins.items() if pinned.get(n) != v} == {}


def test_installs_and_builds_check_the_hashes():
    makefile = (REPO / "Makefile").read_text()
    assert "$(BIN)/pip install --quiet --require-hashes -r requirements/dev.txt" in makefile
    assert "$(TOOLS)/bin/pip install --quiet --require-hashes -r requirements/tools.txt" in makefile
    assert "--no-deps --no-build-isolation -e ." in makefile and "python -m pixelate.deploy.locks" in makefile
    command = package.pip_install_command(package.PackageSpec("3.12", "arm64"), [], Path("t"), locks.LAMBDA_LOCK)
    assert command[command.index("-r") + 1] == str(locks.LAMBDA_LOCK)
    assert {"--require-hashes", "--no-deps", "--only-binary=:all:"} <= set(command)
