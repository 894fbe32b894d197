"""The dependency locks: every package `make install` and the Lambda package install, pinned, with hashes.

    make lock                      # python -m pixelate.deploy.locks: rewrite requirements/*.txt from their inputs

``requirements/`` holds three locks, each made by ``uv pip compile --generate-hashes`` (the hashes of every file
of each pinned version, so one lock serves every platform) and installed with ``pip --require-hashes``:

- ``lambda.txt``: what the Lambda zip installs (``pixelate.deploy.package``): ``pixelate``'s own dependencies
  minus what the Lambda runtime provides (``lambda.in``, written from ``pyproject.toml``), resolved for the
  oldest Python the package is built for here, and checked to resolve to the same pins, wheels only, for every
  runtime and architecture of the template (:data:`LAMBDA_TARGETS`): a pin without a wheel for one of them
  makes ``make lock`` fail.
- ``dev.txt``: the project with its ``dev`` extra and the build tools (``build.in``), for any platform
  (``--universal``): ``make install``'s venv.
- ``tools.txt``: checkov (``tools.in``), which pins many libraries of its own: ``make install``'s ``.tools``.

To update: change ``pyproject.toml`` or an ``.in`` file (or nothing, for the newest releases), run ``make lock``,
review the diff, run ``make test``.
"""
from __future__ import annotations

import re
import subprocess
import sys

from pixelate.deploy.package import PACKAGE_DIR, RUNTIME_GLIBC, PackageSpec, runtime_requirements

REQUIREMENTS_DIR = PACKAGE_DIR.parent / "requirements"
LAMBDA_LOCK = REQUIREMENTS_DIR / "lambda.txt"
DEV_LOCK = REQUIREMENTS_DIR / "dev.txt"
TOOLS_LOCK = REQUIREMENTS_DIR / "tools.txt"
#: The Lambda lock is resolved for this Python and platform (this machine's: tests/deploy/test_package.py builds
#: a package for it, to import the handler from it) ...
LAMBDA_RESOLVE_PYTHON = "3.11"
LAMBDA_RESOLVE_PLATFORM = "x86_64-manylinux_2_28"
#: ... and must give the same pins, as wheels, for each of the template's Runtime x Architecture.
LAMBDA_TARGETS = [PackageSpec(py, arch) for py in ("3.12", "3.13", "3.14") for arch in ("x86_64", "arm64")]

#: The glibc 2.x minors uv's --python-platform names.
_UV_MANYLINUX_MINORS = (17, 28, *range(31, 41))

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def pins(lock_text: str) -> dict[str, str]:
    """Package name (normalised) -> pinned version, from a lock's text."""
    return {normal_name(name): version for name, version in _PIN.findall(lock_text)}


def normal_name(name: str) -> str:
    """A package name as PEP 503 compares them: runs of ``-_.`` as one ``-``, lowercase."""
    return re.sub(r"[-_.]+", "-", name).lower()


def uv_platform(spec: PackageSpec) -> str:
    """uv's ``--python-platform`` for a Lambda target (the newest manylinux its runtime's glibc runs)."""
    major, minor = RUNTIME_GLIBC[spec.python_version]
    known = max(m for m in _UV_MANYLINUX_MINORS if m <= minor)  # uv knows these; 2.26 (Amazon Linux 2) is not one
    return f"{spec.machine}-manylinux_{major}_{known}"


def _uv(*args: str) -> str:
    command = [sys.executable, "-m", "uv", "pip", "compile", "--quiet", "--no-progress", *args]
    done = subprocess.run(command, capture_output=True, text=True, cwd=PACKAGE_DIR.parent)
    if done.returncode != 0:
        raise SystemExit(f"uv pip compile {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def lock_lambda() -> dict[str, str]:
    """Write ``lambda.in`` and ``lambda.txt``; check every target resolves to the same pins; return the pins."""
    (REQUIREMENTS_DIR / "lambda.in").write_text(
        "# Written by `make lock` from pyproject.toml's dependencies, minus what the Lambda runtime provides.\n"
        + "\n".join(runtime_requirements()) + "\n")
    _uv("requirements/lambda.in", "--generate-hashes", "--only-binary", ":all:", "--python-version",
        LAMBDA_RESOLVE_PYTHON, "--python-platform", LAMBDA_RESOLVE_PLATFORM, "--output-file", "requirements/lambda.txt")
    locked = pins(LAMBDA_LOCK.read_text())
    for spec in LAMBDA_TARGETS:
        resolved = pins(_uv("requirements/lambda.in", "--constraint", "requirements/lambda.txt", "--only-binary",
                            ":all:", "--python-version", spec.python_version, "--python-platform", uv_platform(spec),
                            "--no-header", "--no-annotate"))
        different = {name: version for name, version in resolved.items() if locked.get(name) != version}
        if different:
            raise SystemExit(f"the Lambda lock does not fit python{spec.python_version} {spec.arch}: {different}")
    return locked


def lock_dev() -> None:
    _uv("pyproject.toml", "requirements/build.in", "--extra", "dev", "--universal", "--python-version",
        LAMBDA_RESOLVE_PYTHON, "--generate-hashes", "--output-file", "requirements/dev.txt")


def lock_tools() -> None:
    _uv("requirements/tools.in", "--universal", "--python-version", LAMBDA_RESOLVE_PYTHON, "--generate-hashes",
        "--output-file", "requirements/tools.txt")


def main() -> int:
    locked = lock_lambda()
    print(f"{LAMBDA_LOCK}: {len(locked)} packages, the same wheels' pins for "
          + ", ".join(f"py{s.python_version}-{s.arch}" for s in LAMBDA_TARGETS))
    lock_dev()
    print(f"{DEV_LOCK}: {len(pins(DEV_LOCK.read_text()))} packages")
    lock_tools()
    print(f"{TOOLS_LOCK}: {len(pins(TOOLS_LOCK.read_text()))} packages")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
