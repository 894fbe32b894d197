"""Fingerprint every output the project makes, so that a refactor can show it changed no behaviour.

    python tools/output_hashes.py > before.json      # on the commit before the change
    python tools/output_hashes.py > after.json       # after it
    python tools/output_hashes.py --compare before.json after.json

Inputs: every file of ``tests/corpus`` and ``samples``, and the benchmark's generated inputs (JPEG 2, 12 and
24 MP, the detailed 12 MP one, the 12 MP one with EXIF orientation 6, the 12 MP PNG with alpha, both GIF
animations). Each is pixelated at blocks 8, 10, 16 and 32 with both methods, through the default path and,
for JPEG, with the DCT-domain fast path off. Each answer is the SHA-256 of the output bytes with the
reported format, size and frames, or the rejection's reason and message.

Only the public API (``pixelate.pixelate_bytes``) is called, so the script runs unchanged on both sides of a
move of the package's modules.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = (8, 10, 16, 32)
METHODS = ("average", "nearest")


def inputs() -> dict[str, bytes]:
    from pixelate.bench import workloads

    found = {}
    for folder in (ROOT / "tests" / "corpus", ROOT / "samples"):
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix.lower() not in (".md", ".txt", ".json"):
                found[f"{folder.name}/{path.name}"] = path.read_bytes()
    for name in workloads.names():
        found[f"bench/{name}"] = workloads.by_name(name).data
    found["bench/jpeg-12mp-orientation-6"] = workloads.with_exif_orientation(workloads.by_name("jpeg-12mp").data, 6)
    found["bench/gif-anim-small"] = workloads.gif_workload(small=True).data
    return found


def answer(data: bytes, size: int, method: str, fast: bool) -> str:
    from pixelate import PixelateError, pixelate_bytes

    try:
        result = pixelate_bytes(data, size, method, fast=fast)
    except PixelateError as error:
        return f"rejected {error.reason}: {error.message}"
    digest = hashlib.sha256(result.data).hexdigest()
    return f"{result.format} {result.content_type} {result.width}x{result.height} {result.frames} {digest}"


def fingerprint() -> dict[str, str]:
    table = {}
    for name, data in inputs().items():
        for size in BLOCKS:
            for method in METHODS:
                table[f"{name} {size} {method}"] = answer(data, size, method, True)
                if data[:3] == b"\xff\xd8\xff":
                    table[f"{name} {size} {method} slow"] = answer(data, size, method, False)
    return table


def compare(before: dict[str, str], after: dict[str, str]) -> int:
    changed = [key for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]
    for key in changed:
        print(f"{key}\n  before: {before.get(key)}\n  after:  {after.get(key)}")
    print(f"{len(before)} before, {len(after)} after, {len(changed)} differ")
    return 1 if changed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*(json.loads(Path(p).read_text()) for p in args.compare))
    json.dump(fingerprint(), sys.stdout, indent=0, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
