"""What ``pipeline.ipynb`` does around the client: which photos go up (a folder, the samples, files chosen in a
widget), with which options, what the contact sheet says about each, the processing times, and starting and
stopping a local stack when none runs (with a count of its processes that are still alive).

The S3 side is ``pixelate.deploy.client``; the figures are ``contact_sheet``.
"""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Iterable

from pixelate.deploy.client import Upload, fetch_output
from pixelate.lab import contact_sheet, explore

#: a text file and an option out of range: two uploads that must fail, each with its reason
NOT_AN_IMAGE = ("notes.txt", b"A shopping list is not a photo.\n")
TOO_COARSE = "4096"


def chooser():
    """A file-upload widget for photos of one's own (JupyterLab); a saved copy shows a line of text for it."""
    import ipywidgets as widgets

    class PhotoChooser(widgets.FileUpload):
        def __repr__(self) -> str:  # what a saved or exported copy shows in place of the widget
            chosen = chosen_files(self)
            return (f"[file chooser: {len(chosen)} photo(s) chosen: {', '.join(chosen)}]" if chosen
                    else "[file chooser: none chosen; in JupyterLab, pick photos here, then run the cells below]")

    return PhotoChooser(accept="image/*", multiple=True, description="Add photos")


def chosen_files(widget) -> dict[str, bytes]:
    """Name → bytes of the files chosen in a ``FileUpload`` widget (ipywidgets 8's tuple of dicts, or 7's dict)."""
    if widget is None:
        return {}
    value = widget.value
    items = value.values() if isinstance(value, dict) else value
    found = {}
    for item in items:
        name = item.get("name") or item.get("metadata", {}).get("name")
        if name:
            found[name] = bytes(item["content"])
    return found


def photos(folder: str | Path | None = None, names: Iterable[str] | None = None, widget=None) -> dict[str, bytes]:
    """The photos to upload: those in ``folder`` (default ``samples/``; ``names`` picks some), then any chosen
    in ``widget`` (a file of the same name replaces the folder's)."""
    found = explore.sample_photos(folder or explore.SAMPLES_DIR, names)
    found.update(chosen_files(widget))
    return found


def plan(photos: dict[str, bytes], pixel_sizes: list[int], methods: list[str], failures: bool = True) -> list[Upload]:
    """One upload per photo with ``pixel_sizes`` and ``methods`` given in turn as metadata; with ``failures``, a
    text file and the first photo with a pixel size out of range too."""
    if not pixel_sizes or not methods:
        raise ValueError("give at least one pixel size and one method")
    uploads = [
        Upload(name, data, {"pixel-size": str(pixel_sizes[i % len(pixel_sizes)]), "method": methods[i % len(methods)]})
        for i, (name, data) in enumerate(photos.items())
    ]
    if failures and photos:
        first_name, first_data = next(iter(photos.items()))
        uploads += [Upload(*NOT_AN_IMAGE, {}), Upload("too-coarse-" + first_name, first_data, {"pixel-size": TOO_COARSE})]
    return uploads


def sheet_rows(s3, bucket: str, keys: dict[str, Upload], records: dict[str, dict | None]) -> list[contact_sheet.Row]:
    """A contact-sheet row per upload: its original, its result from the processed bucket, caption and note."""
    rows = []
    for key, upload in keys.items():
        record = records.get(key)
        text, note = contact_sheet.caption(record, upload.metadata)
        result = fetch_output(s3, bucket, key) if (record or {}).get("state") == "done" else None
        rows.append(contact_sheet.Row(upload.name, upload.data, result, text, note))
    return rows


def processing_times(rows: Iterable[dict]) -> str:
    """The handler's own processing times (``elapsed_ms`` of the status records) in one line."""
    times = [row["elapsed_ms"] for row in rows if row.get("elapsed_ms") is not None]
    if not times:
        return "no processing times recorded"
    return (f"processing time per file (the handler's own measure, {len(times)} files): "
            f"median {statistics.median(times):.0f} ms, max {max(times)} ms")


def running_or_started(stack_file: Path, workers: int):
    """The stack ``stack_file`` describes when it runs, or else a local stack started here: ``(outputs, started,
    note)``, ``started`` being the stack to stop at the end (``stop_started``), ``None`` when it was running."""
    from pixelate.deploy import stackfile

    outputs = stackfile.read_stack_file(stack_file)
    if stackfile.is_running(outputs):
        where = outputs.get("EndpointUrl") or f"AWS ({outputs.get('Region') or 'default region'})"
        return outputs, None, f"Using the running stack described by {stack_file}: {where}"
    import atexit

    from pixelate.local import LocalStack

    started = LocalStack(port=0, workers=workers)
    # If a later cell fails, papermill stops and shuts the kernel down: the stack is stopped on the way out too
    # (its children also end when the kernel ends; this makes it prompt and tidy).
    atexit.register(started.stop)
    started.start()
    outputs = started.outputs
    return outputs, started, (f"No stack running; started the local stack: moto at {outputs['EndpointUrl']}, "
                              f"page at {outputs['DistributionUrl']}, {workers} workers")


def stop_started(stack) -> str:
    """Stop a local stack this notebook started (moto, the edge, the workers) and say how many of its processes
    are still alive afterwards (zombies, which only wait to be reaped, do not count)."""
    import psutil

    parts = stack.processes()
    pids = [pid for pid in [parts["Moto"], parts["Edge"], *parts["Workers"]] if pid]
    stack.stop()
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            continue
    return f"stopped the local stack: {len(pids)} processes, {len(alive)} still running"
