"""pipeline.ipynb's helpers: what goes up, what each caption says, the contact sheet's layout, the processing
times and a progress bar whose last state is what stays."""
from __future__ import annotations

import io

from PIL import Image

from pixelate.lab import contact_sheet, explore, uploads
from pixelate.lab.progress import Progress


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


def test_the_plan_gives_options_in_turn_and_two_uploads_that_must_fail():
    photos = {"a.png": _png(8, 8), "b.png": _png(8, 8), "c.png": _png(8, 8)}
    plan = uploads.plan(photos, [8, 16], ["average"])
    assert [(u.name, u.metadata.get("pixel-size")) for u in plan] == [
        ("a.png", "8"), ("b.png", "16"), ("c.png", "8"), ("notes.txt", None), ("too-coarse-a.png", uploads.TOO_COARSE)]
    assert len(uploads.plan(photos, [8], ["average"], failures=False)) == 3


def test_chosen_files_come_from_either_widget_format_and_join_the_folder(tmp_path):
    class Widget:
        value = ({"name": "mine.png", "content": memoryview(_png(4, 4))},)

    class OldWidget:
        value = {"x": {"metadata": {"name": "old.png"}, "content": _png(4, 4)}}

    assert set(uploads.chosen_files(Widget())) == {"mine.png"} and set(uploads.chosen_files(OldWidget())) == {"old.png"}
    (tmp_path / "folder.png").write_bytes(_png(4, 4))
    assert list(uploads.photos(tmp_path, widget=Widget())) == ["folder.png", "mine.png"]
    assert set(uploads.photos(names=["rocket.jpg"])) == {"rocket.jpg"}


def test_captions_give_the_grid_and_warn_when_the_subject_is_erased():
    done = {"state": "done", "output": {"width": 640, "height": 427}, "options": {"pixel_size": 32, "method": "nearest"}}
    text, note = contact_sheet.caption(done)
    assert text == "done · 32 px, nearest\n640x427 px, 20x14 blocks"
    assert note == "only 14 blocks down at 32 px: anything narrower than 32 px is gone"
    assert contact_sheet.caption(dict(done, options={"pixel_size": 8}))[1] == ""
    assert contact_sheet.caption({"state": "failed", "reason": "not-an-image"}) == ("failed · not-an-image", "")
    assert contact_sheet.caption(None) == ("no status · no reason given", "")


def test_the_sheet_has_headers_and_columns_of_pairs():
    rows = [contact_sheet.Row(f"p{i}", _png(300, 200), _png(300, 200), "done\nline two", "a note") for i in range(3)]
    one, two = contact_sheet.contact_sheet(rows, columns=1), contact_sheet.contact_sheet(rows, columns=2)
    assert two.width > one.width and two.height < one.height
    assert contact_sheet.contact_sheet(rows[:1], columns=4).width == one.width  # no empty columns


def test_processing_times_are_a_median_and_a_maximum():
    assert uploads.processing_times([{"elapsed_ms": 10}, {"elapsed_ms": 30}, {"elapsed_ms": 20}, {}]) == (
        "processing time per file (the handler's own measure, 3 files): median 20 ms, max 30 ms")
    assert uploads.processing_times([{}]) == "no processing times recorded"


def test_the_progress_bar_ends_on_its_last_state(capsys):
    bar = Progress(total=3, desc="work", unit="cell")
    for message in ("a", "b", "c"):
        bar.step(message)
    bar.finish()
    assert bar.done == 3 and bar.text().startswith("work: |" + "█" * 24 + "| 3/3 cells")
    assert "done" in capsys.readouterr().err
    assert list(Progress(range(4), desc="it")) == [0, 1, 2, 3]
    stopped = Progress(total=5, desc="x")
    stopped.update(2)
    stopped.close()
    assert "2/5" in stopped.summary() and "stopped" in stopped.summary()


def test_the_samples_are_found_by_name():
    assert set(explore.sample_photos(names=["astronaut.png"])) == {"astronaut.png"}
