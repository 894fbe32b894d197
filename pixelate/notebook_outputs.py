"""Keep committed notebooks free of outputs, except the reference outputs nbval checks.

Notebooks are committed without outputs, execution counts or papermill metadata, so diffs show only what a
person changed. The one exception: a cell marked ``# NBVAL_CHECK_OUTPUT`` keeps its (text) output, because
``pytest --nbval-lax`` compares a fresh run of that cell against the output stored in the file; an empty
reference would make every such check fail. Those reference outputs are copied from an executed copy, and
such a cell carries the execution count 1 (nbval skips the check of a cell whose count is empty, and refuses
one that has outputs without a count); a fixed count keeps re-runs from changing the file.

    python -m pixelate.notebook_outputs check notebooks/*.ipynb deploy.ipynb
    python -m pixelate.notebook_outputs clean notebooks/explore.ipynb --outputs-from notebooks/executed/explore.ipynb

Plain JSON, no nbformat: this runs in a bare checkout too.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
#: Output types a reference may hold: text only (images differ by renderer and are not compared anyway).
TEXT_MIME = {"text/plain"}
#: The execution count every checked cell carries (see above).
REFERENCE_COUNT = 1
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
        if cell.get("cell_type") != "code":
            continue
        checked = is_checked(cell)
        if not checked and cell.get("execution_count") is not None:
            found.append(f"{where}: has an execution count")
        if checked and cell.get("execution_count") != REFERENCE_COUNT:
            found.append(f"{where}: is marked {CHECK_MARK} but its execution count is not {REFERENCE_COUNT}")
        if any(key in cell.get("metadata", {}) for key in RUN_METADATA):
            found.append(f"{where}: has execution metadata")
        outputs = cell.get("outputs", [])
        if not checked:
            if outputs:
                found.append(f"{where}: has outputs but is not marked {CHECK_MARK}")
            continue
        if not outputs:
            found.append(f"{where}: is marked {CHECK_MARK} but has no reference output")
        for output in outputs:
            kind = output.get("output_type")
            if kind == "error":
                found.append(f"{where}: its reference output is an error")
            elif kind in ("execute_result", "display_data") and set(output.get("data", {})) - TEXT_MIME:
                found.append(f"{where}: its reference output is not plain text")
            elif kind == "stream" and output.get("name") != "stdout":
                found.append(f"{where}: its reference output has {output.get('name')}")
            if kind == "execute_result" and output.get("execution_count") != REFERENCE_COUNT:
                found.append(f"{where}: its reference result's execution count is not {REFERENCE_COUNT}")
    if not any(has_tag(cell, "parameters") for cell in notebook.get("cells", [])):
        found.append("no cell is tagged 'parameters'")
    if any(key in notebook.get("metadata", {}) for key in RUN_METADATA):
        found.append("the notebook has execution metadata")
    return found


def clean(notebook: dict, executed: dict | None = None) -> dict:
    """``notebook`` without outputs, counts or run metadata; checked cells take their outputs from
    ``executed`` (matched by source), or keep their own when no executed copy is given."""
    references = {}
    if executed is not None:
        references = {source_text(c): c.get("outputs", []) for c in executed.get("cells", []) if is_checked(c)}
    for cell in notebook.get("cells", []):
        for key in RUN_METADATA:
            cell.get("metadata", {}).pop(key, None)
        if cell.get("cell_type") != "code":
            continue
        if not is_checked(cell):
            cell["execution_count"] = None
            cell["outputs"] = []
            continue
        cell["execution_count"] = REFERENCE_COUNT
        outputs = references.get(source_text(cell), cell.get("outputs", [])) if executed is not None else cell.get("outputs", [])
        cell["outputs"] = [_plain(output) for output in outputs if output.get("output_type") != "error"]
    for key in RUN_METADATA:
        notebook.get("metadata", {}).pop(key, None)
    return notebook


def _plain(output: dict) -> dict:
    """An output without its count or non-text representations."""
    output = dict(output)
    if output.get("output_type") == "execute_result":
        output["execution_count"] = REFERENCE_COUNT
    if "data" in output:
        output["data"] = {mime: value for mime, value in output["data"].items() if mime in TEXT_MIME}
    return output


def read(path: Path | str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write(path: Path | str, notebook: dict) -> None:
    # The layout Jupyter itself writes (indent 1, keys in order, trailing newline): no noise in diffs.
    Path(path).write_text(json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pixelate.notebook_outputs", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="list what keeps notebooks from being committable")
    check.add_argument("notebooks", nargs="+")
    cleaner = commands.add_parser("clean", help="strip outputs (checked cells keep reference outputs)")
    cleaner.add_argument("notebook")
    cleaner.add_argument("--outputs-from", help="an executed copy to take the checked cells' outputs from")
    args = parser.parse_args(argv)
    if args.command == "clean":
        executed = read(args.outputs_from) if args.outputs_from else None
        write(args.notebook, clean(read(args.notebook), executed))
        return 0
    status = 0
    for path in args.notebooks:
        for problem in problems(read(path)):
            print(f"{path}: {problem}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
