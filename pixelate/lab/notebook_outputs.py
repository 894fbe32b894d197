"""Keep committed notebooks free of outputs, execution counts and run metadata.

Notebooks are committed clean, so diffs show only what a person changed. nbval's references are the
outputs of papermill's executed copies (``notebooks/executed/``): ``pytest --nbval-lax`` runs those copies
again and compares the cells marked ``# NBVAL_CHECK_OUTPUT`` with what papermill got.

    python -m pixelate.lab.notebook_outputs check notebooks/*.ipynb deploy.ipynb
    python -m pixelate.lab.notebook_outputs clean notebooks/explore.ipynb

Plain JSON, no nbformat: this runs in a bare checkout too.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
#: Metadata that only an execution writes.
RUN_METADATA = ("papermill", "execution", "widgets")


def source_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def is_checked(cell: dict) -> bool:
    return cell.get("cell_type") == "code" and CHECK_MARK in source_text(cell)


def has_tag(cell: dict, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", [])


def problems(notebook: dict) -> list[str]:
    """What keeps ``notebook`` from being committable; empty when it is clean."""
    found = []
    for index, cell in enumerate(notebook.get("cells", [])):
        where = f"cell {index}"
        if any(key in cell.get("metadata", {}) for key in RUN_METADATA):
            found.append(f"{where}: has execution metadata")
        if cell.get("cell_type") != "code":
            continue
        if cell.get("execution_count") is not None:
            found.append(f"{where}: has an execution count")
        if cell.get("outputs"):
            found.append(f"{where}: has outputs")
    if not any(has_tag(cell, "parameters") for cell in notebook.get("cells", [])):
        found.append("no cell is tagged 'parameters'")
    if any(key in notebook.get("metadata", {}) for key in RUN_METADATA):
        found.append("the notebook has execution metadata")
    return found


def clean(notebook: dict) -> dict:
    """``notebook`` without outputs, execution counts or run metadata."""
    for cell in notebook.get("cells", []):
        for key in RUN_METADATA:
            cell.get("metadata", {}).pop(key, None)
        if cell.get("cell_type") == "code":
            cell["execution_count"] = None
            cell["outputs"] = []
    for key in RUN_METADATA:
        notebook.get("metadata", {}).pop(key, None)
    return notebook


def read(path: Path | str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write(path: Path | str, notebook: dict) -> None:
    # The layout Jupyter itself writes (indent 1, keys in order, trailing newline): no noise in diffs.
    Path(path).write_text(json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pixelate.lab.notebook_outputs", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="list what keeps notebooks from being committable")
    check.add_argument("notebooks", nargs="+")
    cleaner = commands.add_parser("clean", help="strip outputs, execution counts and run metadata")
    cleaner.add_argument("notebooks", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "clean":
        for path in args.notebooks:
            write(path, clean(read(path)))
        return 0
    status = 0
    for path in args.notebooks:
        for problem in problems(read(path)):
            print(f"{path}: {problem}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
