"""Chosen areas on the upload page, in a real browser (Debian chromium through Playwright, against `pixelate up`).

What a person does to hide only part of a photo: choose "Chosen areas", draw rectangles on the preview with a
mouse or a finger, move and resize them, delete one with the keyboard, let "Find faces" mark the faces, and
upload. The checks look at what the page keeps (each area in the photo's own upright pixels), at the preview's
pixels, at the status record, and at the served image: pixelated inside the areas, untouched outside.
"""
from __future__ import annotations

import base64
import io
import json
import math
import re

from PIL import Image, ImageStat

from tests.support.browser import (
    RESULT_TIMEOUT_MS,
    SAMPLES,
    browser_test,
    card_of,
    fetch,
    natural_size,
    open_page,
    screenshot,
    wait_for_result,
)

ASTRONAUT = SAMPLES / "astronaut.png"
#: The astronaut's face in samples/astronaut.png, eyes to chin and cheek to cheek, measured by eye: a box that
#: "Find faces" must cover whole.
ASTRONAUT_FACE = (190, 93, 70, 77)
DESKTOP = {"width": 1280, "height": 900}


# ---- driving the editor ----------------------------------------------------------------------------------------


def choose_areas(page, server_faces: bool) -> None:
    page.get_by_test_id("target-areas").check()
    checkbox = page.get_by_test_id("server-faces")
    checkbox.wait_for(state="visible")
    checkbox.set_checked(server_faces)


def open_editor(page, path):
    """The card of ``path`` once its preview is drawn in chosen-areas mode, scrolled into view; and its layer."""
    page.get_by_test_id("file-input").set_input_files(str(path))
    card = card_of(page, path.name)
    card.locator("canvas.preview[data-target='areas']").wait_for()
    layer = card.get_by_test_id("areas")
    layer.scroll_into_view_if_needed()
    return card, layer


def screen_point(layer, size, x, y) -> tuple[float, float]:
    """Where the photo's pixel (x, y) is on the screen, in CSS pixels."""
    box = layer.bounding_box()
    return box["x"] + x * box["width"] / size[0], box["y"] + y * box["height"] / size[1]


def photo_box(layer, size, start, end) -> tuple[int, int, int, int]:
    """The area a drag from ``start`` to ``end`` (screen points) draws, by the page's rule: the photo pixels the
    two points fall in, rounded outward."""
    box = layer.bounding_box()
    xs = sorted((p[0] - box["x"]) * size[0] / box["width"] for p in (start, end))
    ys = sorted((p[1] - box["y"]) * size[1] / box["height"] for p in (start, end))
    x0, y0 = math.floor(xs[0]), math.floor(ys[0])
    return x0, y0, math.ceil(xs[1]) - x0, math.ceil(ys[1]) - y0


def mouse_drag(page, start, end, steps: int = 8) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=steps)
    page.mouse.up()


def touch_drag(cdp, start, end, steps: int = 8) -> None:
    """A finger drag, as the touch screen reports it (the browser makes pointer events of pointerType "touch")."""
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": start[0], "y": start[1]}]})
    for i in range(1, steps + 1):
        x = start[0] + (end[0] - start[0]) * i / steps
        y = start[1] + (end[1] - start[1]) * i / steps
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def areas_of(card) -> list[dict]:
    """The card's areas as the page keeps them: photo pixels, source, and the accessible name."""
    return card.get_by_test_id("area").evaluate_all(
        """els => els.map(el => ({x: +el.dataset.x, y: +el.dataset.y, w: +el.dataset.w, h: +el.dataset.h,
                                  source: el.dataset.source, label: el.getAttribute('aria-label')}))"""
    )


def box_of(area: dict) -> tuple[int, int, int, int]:
    return area["x"], area["y"], area["w"], area["h"]


def assert_near(got, expected, tolerance: int = 1) -> None:
    assert all(abs(a - b) <= tolerance for a, b in zip(got, expected)), (got, expected)


def canvas_image(card) -> Image.Image:
    data_url = card.locator("canvas.preview").evaluate("canvas => canvas.toDataURL('image/png')")
    return Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))).convert("RGB")


def pixelated_area(box, size) -> tuple[int, int, int, int]:
    """What the server pixelates for an area (x0, y0, x1, y1): the area itself, clipped to the photo (its blocks
    are anchored at its own corner; a JPEG in the DCT domain would grow it to whole 8 or 16 px blocks)."""
    x, y, w, h = box
    return max(0, x), max(0, y), min(size[0], x + w), min(size[1], y + h)


def max_difference(a: Image.Image, b: Image.Image, box=None) -> int:
    if box:
        a, b = a.crop(box), b.crop(box)
    return max(hi for _, hi in ImageStat.Stat(Image.frombytes("RGB", a.size, bytes(
        abs(p - q) for p, q in zip(a.tobytes(), b.tobytes())))).extrema)


def outside_identical(result: Image.Image, original: Image.Image, boxes) -> bool:
    """Every pixel outside ``boxes`` (x0, y0, x1, y1) is the original's, exactly."""
    mask = Image.new("L", original.size, 255)
    for box in boxes:
        mask.paste(0, box)
    blank = Image.new("RGB", original.size)
    return Image.composite(result, blank, mask).tobytes() == Image.composite(original, blank, mask).tobytes()


def status_record(page, site: str, card) -> dict:
    upload_id = card.get_attribute("data-upload-id")
    assert upload_id, "the card does not say which upload it is"
    return json.loads(fetch(page, f"{site}api/uploads/{upload_id}"))


def covers(area: tuple[int, int, int, int], inner: tuple[int, int, int, int]) -> bool:
    return (area[0] <= inner[0] and area[1] <= inner[1]
            and area[0] + area[2] >= inner[0] + inner[2] and area[1] + area[3] >= inner[1] + inner[3])


# ---- the tests -------------------------------------------------------------------------------------------------


@browser_test
def test_mouse_draws_moves_and_resizes_an_area_and_the_keyboard_moves_and_deletes_it(browser, site):
    from pixelate import pixelate_bytes

    context, page, problems = open_page(browser, site, viewport=DESKTOP)
    try:
        choose_areas(page, server_faces=False)
        card, layer = open_editor(page, ASTRONAUT)
        size = (512, 512)
        assert card.get_by_test_id("area-count").inner_text() == "No areas yet"

        # Draw: a drag on the bare photo.
        start, end = screen_point(layer, size, 100.5, 300.5), screen_point(layer, size, 200.5, 380.5)
        mouse_drag(page, start, end)
        (area,) = areas_of(card)
        drawn = photo_box(layer, size, start, end)
        assert box_of(area) == drawn and area["source"] == "manual"
        assert_near(drawn, (100, 300, 101, 81))
        assert area["label"] == f"Area 1: {drawn[2]} by {drawn[3]} pixels, {drawn[0]} from the left and {drawn[1]} from the top"
        assert page.evaluate("() => document.activeElement.dataset.testid") == "area"  # the new area is selected

        # Move: drag its body by (40, -20) photo pixels; its size stays.
        middle = screen_point(layer, size, drawn[0] + drawn[2] / 2, drawn[1] + drawn[3] / 2)
        mouse_drag(page, middle, (middle[0] + 40 * layer.bounding_box()["width"] / 512, middle[1] - 20 * layer.bounding_box()["height"] / 512))
        (area,) = areas_of(card)
        assert_near(box_of(area), (drawn[0] + 40, drawn[1] - 20, drawn[2], drawn[3]))
        assert (area["w"], area["h"]) == drawn[2:]
        moved = box_of(area)

        # Resize: drag the bottom-right corner's handle by (30, 50); the top-left corner stays.
        handle = card.locator(".area .handle-se").bounding_box()
        grip = (handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
        scale = layer.bounding_box()["width"] / 512
        mouse_drag(page, grip, (grip[0] + 30 * scale, grip[1] + 50 * scale))
        (area,) = areas_of(card)
        assert (area["x"], area["y"]) == moved[:2]
        assert_near((area["w"], area["h"]), (moved[2] + 30, moved[3] + 50), tolerance=2)
        resized = box_of(area)

        # The preview is the photo with that area pixelated as the server will: compared with the server's own
        # result, pixel for pixel (the canvas is at the photo's scale here).
        card.locator(".result-caption:has-text('1 area pixelated')").wait_for()
        page.wait_for_function("() => new Promise(r => requestAnimationFrame(() => r(true)))")
        preview = canvas_image(card)
        assert preview.size == size
        served = Image.open(io.BytesIO(pixelate_bytes(ASTRONAUT.read_bytes(), size=16, regions=[resized]).data)).convert("RGB")
        original = Image.open(ASTRONAUT).convert("RGB")
        box = pixelated_area(resized, size)
        assert max_difference(preview, served, box) <= 1, "the preview's blocks are not the server's"
        assert outside_identical(preview, original, [box]), "the preview changed pixels outside the area"
        assert max_difference(preview, original, box) > 40, "the area is not pixelated in the preview"

        # The keyboard: arrows move by 1% of the photo (Shift: 10%), Alt+arrows resize.
        page.keyboard.press("ArrowRight")
        page.keyboard.press("Shift+ArrowUp")
        page.keyboard.press("Alt+ArrowRight")
        page.keyboard.press("Alt+ArrowLeft")  # narrower again
        page.keyboard.press("Alt+ArrowRight")
        (area,) = areas_of(card)
        assert box_of(area) == (resized[0] + 5, resized[1] - 50, resized[2] + 5, resized[3])
        assert_focus_ring(page)
        assert "Area 1" in card.locator(".announcer").inner_text() or "area 1" in card.locator(".announcer").inner_text()
        screenshot(page, "areas-desktop.png")

        # Delete from the keyboard: the area goes, and focus moves on to "Add an area".
        page.keyboard.press("Delete")
        assert areas_of(card) == []
        assert page.evaluate("() => document.activeElement.dataset.testid") == "add-area"
        assert "Deleted area 1" in card.locator(".announcer").inner_text()

        # An area made from the keyboard alone, then removed with Backspace.
        page.keyboard.press("Enter")
        (area,) = areas_of(card)
        assert box_of(area) == (192, 192, 128, 128)
        assert page.evaluate("() => document.activeElement.dataset.testid") == "area"
        assert_focus_ring(page)
        page.keyboard.press("Backspace")
        assert areas_of(card) == []

        # Escape while drawing a new area drops it (the drag gave no area focus: the key must still reach it).
        page.mouse.move(*screen_point(layer, size, 300.5, 100.5))
        page.mouse.down()
        page.mouse.move(*screen_point(layer, size, 400.5, 200.5), steps=5)
        assert len(areas_of(card)) == 1  # being drawn
        page.keyboard.press("Escape")
        page.mouse.move(*screen_point(layer, size, 420.5, 220.5), steps=2)
        page.mouse.up()
        assert areas_of(card) == []

        # A press that slips a few CSS pixels is a click, not a sliver of an area.
        start = screen_point(layer, size, 300.5, 100.5)
        mouse_drag(page, start, (start[0] + 5, start[1]), steps=2)
        assert areas_of(card) == []

        # Resizing a corner past the opposite one stops at the smallest area (8 photo pixels, and a few CSS px).
        mouse_drag(page, screen_point(layer, size, 300.5, 100.5), screen_point(layer, size, 400.5, 200.5))
        (area,) = areas_of(card)
        handle = card.locator(".area .handle-se").bounding_box()
        grip = (handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
        mouse_drag(page, grip, screen_point(layer, size, 200.5, 20.5))
        (shrunk,) = areas_of(card)
        assert (shrunk["x"], shrunk["y"]) == (area["x"], area["y"])
        least = max(8, math.ceil(6 * 512 / layer.bounding_box()["width"]))
        assert (shrunk["w"], shrunk["h"]) == (least, least), shrunk
        page.keyboard.press("Alt+ArrowLeft")  # the keyboard does not shrink it further
        assert (areas_of(card)[0]["w"], areas_of(card)[0]["h"]) == (least, least)
        page.keyboard.press("Delete")
        assert areas_of(card) == []

        # Nothing chosen and the server not asked to find faces: the upload says so and waits.
        page.get_by_test_id("upload-button").click()
        error = card.get_by_test_id("error")
        assert "Nothing is chosen" in error.inner_text()
        assert card.get_attribute("data-state") == "pending"
        page.get_by_role("button", name="Add an area to astronaut.png").click()
        assert card.get_by_test_id("error").count() == 0  # an area chosen: the message goes

        # The 64 areas a photo may have: one more is refused, and the card says so where it can be seen.
        card.get_by_test_id("add-area").evaluate("button => { for (let i = 0; i < 64; i++) button.click(); }")
        assert len(areas_of(card)) == 64
        limit = card.locator(".face-slot").get_by_test_id("warning")
        assert limit.is_visible() and "64 areas" in limit.inner_text(), limit.all_inner_texts()
        assert card.get_by_test_id("area-count").inner_text() == "64 areas to pixelate: the most one photo can have"
        card.get_by_test_id("area").last.focus()
        page.keyboard.press("Delete")
        assert len(areas_of(card)) == 63 and limit.count() == 0
        assert problems.problems == []
    finally:
        context.close()


def assert_focus_ring(page) -> None:
    """The focused element shows a focus ring a person can see."""
    style = page.evaluate(
        """() => {
            const el = document.activeElement;
            const s = getComputedStyle(el);
            return {visible: el.matches(':focus-visible'), style: s.outlineStyle, width: parseFloat(s.outlineWidth)};
        }"""
    )
    assert style["visible"] and style["style"] != "none" and style["width"] >= 2, style


@browser_test
def test_a_finger_draws_moves_and_deletes_an_area_on_a_phone(browser, site):
    context, page, problems = open_page(
        browser, site, viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    try:
        choose_areas(page, server_faces=False)
        card, layer = open_editor(page, SAMPLES / "chelsea.png")
        size = (451, 300)
        # On a phone the preview takes the card's whole width while areas are drawn.
        assert layer.bounding_box()["width"] > 280
        cdp = context.new_cdp_session(page)
        # the editor on screen for a frame or two, as it is before any finger can reach it
        page.wait_for_function("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")
        # where the page is scrolled to and the photo is on the screen (the page may grow below the photo: the drawn
        # area, selected, gets its buttons there)
        where = "() => [window.scrollY, document.querySelector('[data-testid=areas]').getBoundingClientRect().top]"
        scrolled = page.evaluate(where)

        start, end = screen_point(layer, size, 40.5, 60.5), screen_point(layer, size, 200.5, 180.5)
        touch_drag(cdp, start, end)
        card.get_by_test_id("area").wait_for()
        (area,) = areas_of(card)
        assert box_of(area) == photo_box(layer, size, start, end)
        assert page.evaluate(where) == scrolled, "the finger scrolled the page instead of drawing"

        assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
        screenshot(page, "areas-phone.png", full_page=False)

        drawn = box_of(area)
        middle = screen_point(layer, size, drawn[0] + drawn[2] / 2, drawn[1] + drawn[3] / 2)
        scale = layer.bounding_box()["width"] / size[0]
        touch_drag(cdp, middle, (middle[0] + 100 * scale, middle[1] + 60 * scale))
        (area,) = areas_of(card)
        assert_near(box_of(area), (drawn[0] + 100, drawn[1] + 60, drawn[2], drawn[3]))
        assert page.evaluate(where) == scrolled

        # The selected area shows its × button, large enough for a finger; a tap right after the drag deletes the
        # area (Chromium makes no click of most taps that soon after a drag: the × acts on the finger lifting).
        delete = card.get_by_role("button", name="Delete area 1")
        target = delete.bounding_box()
        assert target["width"] >= 32 and target["height"] >= 32
        page.touchscreen.tap(target["x"] + target["width"] / 2, target["y"] + target["height"] / 2)
        card.get_by_test_id("area").wait_for(state="detached")  # a tap's click comes after the touch ends
        assert areas_of(card) == []
        # the last area gone, focus goes on to where another can be added (not lost to the page's body)
        page.wait_for_timeout(300)  # the mouse events a browser may make of the tap come after it
        assert page.evaluate("() => document.activeElement.dataset.testid") == "add-area"
        assert problems.problems == []
    finally:
        context.close()


PHONE = {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def next_frames(page) -> None:
    page.wait_for_function("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")


CHELSEA_SIZE = (451, 300)


def chelsea_in_the_editor(context, page):
    """The cat photo open in the area editor, on screen for a frame or two (as it is before any finger can reach
    it), with a CDP session to send touches through: ``(card, layer, cdp)``."""
    choose_areas(page, server_faces=False)
    card, layer = open_editor(page, SAMPLES / "chelsea.png")
    cdp = context.new_cdp_session(page)
    next_frames(page)
    return card, layer, cdp


def touches(cdp, kind: str, points) -> None:
    """One touch event with the fingers ``points`` ((x, y), each finger its own id) on the screen."""
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [
        {"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]})


@browser_test
def test_a_finger_resizing_a_box_near_the_top_by_its_bottom_edge_does_not_delete_it(browser, site):
    """Near the top of the photo an area's × sits below the box: clear of the bottom edge's handle, and a finger
    that lands on the × and moves away (a resize meant, or a scroll) does not delete the area: only a tap does."""
    context, page, problems = open_page(browser, site, **PHONE)
    try:
        card, layer, cdp = chelsea_in_the_editor(context, page)
        size = CHELSEA_SIZE
        touch_drag(cdp, screen_point(layer, size, 100.5, 5.5), screen_point(layer, size, 300.5, 120.5))
        (area,) = areas_of(card)
        assert card.locator(".area.near-top").count() == 1

        # The × is below the bottom edge's handle with a fingertip's gap, and a finger's size; so are the handles.
        delete = card.get_by_role("button", name="Delete area 1").bounding_box()
        edge = card.locator(".area .handle-s").bounding_box()
        assert delete["y"] >= edge["y"] + edge["height"] + 8, (delete, edge)
        assert delete["width"] >= 44 and delete["height"] >= 44, delete
        assert edge["height"] >= 44, edge
        for corner in ("nw", "ne", "se", "sw"):
            handle = card.locator(f".area .handle-{corner}").bounding_box()
            assert handle["width"] >= 44 and handle["height"] >= 44, (corner, handle)
        assert card.locator(".area .handle-e").bounding_box()["width"] >= 44
        for name in ("Remove chelsea.png", "Find faces in chelsea.png", "Add an area to chelsea.png"):
            button = card.get_by_role("button", name=name).bounding_box()
            assert button["height"] >= 44 and button["width"] >= 44, (name, button)
        outlines = card.locator(".toggle-outlines")  # shown on a result only: shown here a moment to measure it
        outlines.evaluate("b => { b.hidden = false; b.closest('.download-row').hidden = false; }")
        assert outlines.bounding_box()["height"] >= 44
        outlines.evaluate("b => { b.hidden = true; b.closest('.download-row').hidden = true; }")

        # A finger that lands on the × and moves 140 px away, lifted there: the area stays as it was.
        grip = (delete["x"] + delete["width"] / 2, delete["y"] + delete["height"] / 2)
        touch_drag(cdp, grip, (grip[0], grip[1] + 140), steps=10)
        page.wait_for_timeout(300)
        assert areas_of(card) == [area]
        screenshot(page, "areas-phone-near-top.png", full_page=False)
        # The bottom edge's handle resizes it.
        card.get_by_test_id("area").focus()
        edge = card.locator(".area .handle-s").bounding_box()
        grip = (edge["x"] + edge["width"] / 2, edge["y"] + edge["height"] / 2)
        touch_drag(cdp, grip, (grip[0], grip[1] + 40))
        (resized,) = areas_of(card)
        assert (resized["x"], resized["y"], resized["w"]) == (area["x"], area["y"], area["w"]) and resized["h"] > area["h"]

        # The handles reach mostly outward: a small box (a face of ~50 CSS px) keeps its middle to move it by. With
        # 20 px of each handle inside, a finger 5 px off the middle resized it instead (a review's measure).
        touch_drag(cdp, screen_point(layer, size, 380.5, 225.5), screen_point(layer, size, 440.5, 285.5))
        small = areas_of(card)[1]
        shown = card.get_by_test_id("area").nth(1).bounding_box()
        assert 40 <= shown["width"] <= 60, shown
        # above a box, the × is clear of its top handles too (a finger on a corner resizes; it is not the ×'s)
        corner = card.locator(".area").nth(1).locator(".handle-ne").bounding_box()
        above = card.get_by_role("button", name="Delete area 2").bounding_box()
        assert above["y"] + above["height"] <= corner["y"], (above, corner)
        for dx, dy in ((5, 0), (-5, 0), (0, 5), (0, -5)):
            before = areas_of(card)[1]
            middle = (shown["x"] + shown["width"] / 2 + dx, shown["y"] + shown["height"] / 2 + dy)
            touch_drag(cdp, middle, (middle[0] - 10, middle[1] - 10))
            moved = areas_of(card)[1]
            assert (moved["w"], moved["h"]) == (small["w"], small["h"]) and moved["x"] < before["x"], (dx, dy, moved)
            shown = card.get_by_test_id("area").nth(1).bounding_box()
        # a box with no room above it for a finger's × (under 90 CSS px from the top) has it below
        touch_drag(cdp, screen_point(layer, size, 5.5, 60.5), screen_point(layer, size, 45.5, 100.5))
        assert len(areas_of(card)) == 3 and "near-top" in card.locator(".area").nth(2).get_attribute("class")
        assert problems.problems == []
    finally:
        context.close()


def tap(page, cdp, point) -> None:
    """A finger's tap, not right after a drag: the browser makes mouse events and a click of it too."""
    touches(cdp, "touchStart", [point])
    page.wait_for_timeout(50)
    touches(cdp, "touchEnd", [])
    page.wait_for_timeout(300)


@browser_test
def test_tapping_the_last_areas_delete_button_leaves_focus_on_add_an_area(browser, site):
    """The last area deleted by a tap on its ×: focus goes on to "Add an area", where another can be added (the
    mouse events a browser makes of the tap must not then take it to the page's body)."""
    context, page, problems = open_page(browser, site, **PHONE)
    try:
        card, layer, cdp = chelsea_in_the_editor(context, page)
        size = CHELSEA_SIZE
        touch_drag(cdp, screen_point(layer, size, 100.5, 100.5), screen_point(layer, size, 300.5, 220.5))
        page.wait_for_timeout(600)
        tap(page, cdp, screen_point(layer, size, 0.5, 0.5))  # the bare photo: deselected
        tap(page, cdp, screen_point(layer, size, 200.5, 160.5))  # the area: selected, its × shown
        delete = card.get_by_role("button", name="Delete area 1").bounding_box()
        tap(page, cdp, (delete["x"] + delete["width"] / 2, delete["y"] + delete["height"] / 2))
        assert areas_of(card) == []
        assert page.evaluate("() => document.activeElement.dataset.testid") == "add-area"
        assert problems.problems == []
    finally:
        context.close()


@browser_test
def test_a_second_finger_while_drawing_cancels_the_draw(browser, site):
    """A pinch begun while one finger draws leaves no area behind; one finger alone still draws."""
    context, page, problems = open_page(browser, site, **PHONE)
    try:
        card, layer, cdp = chelsea_in_the_editor(context, page)
        size = CHELSEA_SIZE
        first = screen_point(layer, size, 60.5, 60.5)
        touches(cdp, "touchStart", [first])
        for step in range(1, 6):
            touches(cdp, "touchMove", [(first[0] + 12 * step, first[1] + 10 * step)])
        assert len(areas_of(card)) == 1  # being drawn
        at = (first[0] + 60, first[1] + 50)
        other = screen_point(layer, size, 300.5, 200.5)
        touches(cdp, "touchStart", [at, other])
        for step in range(1, 6):
            touches(cdp, "touchMove", [(at[0] + 8 * step, at[1] + 6 * step), (other[0] - 4 * step, other[1] - 3 * step)])
        touches(cdp, "touchEnd", [])
        page.wait_for_timeout(300)
        assert areas_of(card) == []
        assert "dragging" not in layer.get_attribute("class")

        start, end = screen_point(layer, size, 40.5, 60.5), screen_point(layer, size, 200.5, 180.5)
        touch_drag(cdp, start, end)
        (area,) = areas_of(card)
        assert box_of(area) == photo_box(layer, size, start, end)
        assert problems.problems == []
    finally:
        context.close()


@browser_test
def test_a_portrait_photo_on_a_phone_on_its_side_leaves_page_to_scroll_by(browser, site, tmp_path):
    """839 × 412, a phone turned on its side: the preview of a portrait photo is no taller than most of the screen,
    alone on its row, with the areas exactly over it; a finger on the photo still draws."""
    portrait = tmp_path / "portrait.png"
    Image.open(ASTRONAUT).crop((106, 0, 406, 512)).save(portrait)  # 300 × 512
    context, page, problems = open_page(browser, site, viewport={"width": 839, "height": 412}, device_scale_factor=2,
                                        is_mobile=True, has_touch=True)
    try:
        choose_areas(page, server_faces=False)
        card, layer = open_editor(page, portrait)
        next_frames(page)
        shown = card.locator("canvas.preview").bounding_box()
        over = layer.bounding_box()
        assert shown["height"] <= 0.7 * 412 + 1, shown
        assert abs(shown["width"] / shown["height"] - 300 / 512) < 0.02, shown
        assert all(abs(shown[k] - over[k]) <= 0.5 for k in ("x", "y", "width", "height")), (shown, over)
        assert not card.locator("img.original-image").is_visible()  # the preview alone: one column
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 839
        screenshot(page, "areas-phone-landscape.png", full_page=False)

        cdp = context.new_cdp_session(page)
        start, end = screen_point(layer, (300, 512), 50.5, 100.5), screen_point(layer, (300, 512), 200.5, 300.5)
        touch_drag(cdp, start, end)
        (area,) = areas_of(card)
        assert box_of(area) == photo_box(layer, (300, 512), start, end)
        assert problems.problems == []
    finally:
        context.close()


@browser_test
def test_a_drawn_area_many_blocks_across_gets_a_note(browser, site):
    """A drawn area more than 16 blocks across at the pixel size may leave a face in it recognisable: the card says
    so, without stopping anything, until larger blocks are chosen."""
    context, page, problems = open_page(browser, site, viewport=DESKTOP)
    try:
        choose_areas(page, server_faces=False)
        card, layer = open_editor(page, ASTRONAUT)
        mouse_drag(page, screen_point(layer, (512, 512), 100.5, 100.5), screen_point(layer, (512, 512), 200.5, 180.5))
        note = card.locator(".note-slot [role=status]")
        assert note.count() == 0  # about 6 blocks across: no note
        start, end = screen_point(layer, (512, 512), 20.5, 250.5), screen_point(layer, (512, 512), 320.5, 500.5)
        expected, photo_at = photo_box(layer, (512, 512), start, end), layer.bounding_box()["y"]
        mouse_drag(page, start, end)
        note.wait_for()
        # the note came in the middle of the drag: above the photo, it moved the photo under the pointer (a review
        # measured 71 px on a desktop, and the area landed elsewhere)
        assert layer.bounding_box()["y"] == photo_at
        area = areas_of(card)[1]
        assert (area["x"], area["y"], area["w"], area["h"]) == expected
        # (named for a screen reader, which hears it without the card's title)
        assert note.text_content() == ("astronaut.png: Area 2 is more than 16 blocks across at 16 px, so a face or anything "
                                       "else in it may stay recognisable: larger blocks (a larger pixel size) hide it better.")
        page.get_by_test_id("pixel-size").fill("20")  # 15 blocks across
        note.wait_for(state="detached")
        assert card.get_attribute("data-state") == "pending"
        assert problems.problems == []
    finally:
        context.close()


@browser_test
def test_find_faces_marks_the_face_for_the_person_to_check(browser, site):
    context, page, problems = open_page(browser, site, viewport=DESKTOP, expected_failures=r"/api/detect(\?|$)")
    try:
        asked = []
        page.on("request", lambda request: asked.append(request.url) if "/api/detect" in request.url else None)
        choose_areas(page, server_faces=True)
        card, layer = open_editor(page, ASTRONAUT)
        # Record every aria-busy the button takes, to see the busy state however fast the answer comes.
        card.get_by_test_id("find-faces").evaluate(
            """button => {
                window.busyStates = [];
                new MutationObserver(() => window.busyStates.push(button.getAttribute('aria-busy')))
                    .observe(button, {attributes: true, attributeFilter: ['aria-busy']});
            }"""
        )
        card.get_by_test_id("find-faces").click()
        message = card.locator(".face-slot .status").filter(has_text="Found")
        message.wait_for(timeout=RESULT_TIMEOUT_MS)
        assert "Found 1 face" in message.inner_text()
        assert page.evaluate("() => window.busyStates")[0] == "true"
        assert card.get_by_test_id("find-faces").get_attribute("aria-busy") is None

        (face,) = areas_of(card)
        assert face["source"] == "face" and "a face" in face["label"]
        assert covers(box_of(face), ASTRONAUT_FACE), f"the box {box_of(face)} does not cover the face {ASTRONAUT_FACE}"
        assert face["w"] <= 2 * ASTRONAUT_FACE[2] and face["h"] <= 2 * ASTRONAUT_FACE[3], box_of(face)
        assert card.get_by_test_id("area-count").inner_text() == "1 area to pixelate (1 face found)"
        assert asked and asked[0].endswith("/api/detect?width=512&height=512"), asked  # the photo's own size


        # Finding again does not mark the same face twice.
        card.get_by_test_id("find-faces").click()
        card.locator(".face-slot .status").filter(has_text="already marked").wait_for(timeout=RESULT_TIMEOUT_MS)
        assert len(areas_of(card)) == 1

        # A photo with no face says so; a failing face finder says so in words, and the page carries on.
        page.get_by_test_id("file-input").set_input_files(str(SAMPLES / "coffee.png"))
        coffee = card_of(page, "coffee.png")
        coffee.locator("canvas.preview[data-target='areas']").wait_for()
        coffee.get_by_test_id("find-faces").click()
        coffee.locator(".face-slot .status").filter(has_text="No faces found").wait_for(timeout=RESULT_TIMEOUT_MS)
        assert areas_of(coffee) == []

        tries = []

        def unavailable(route):
            tries.append(route.request.method)
            route.fulfill(status=503, headers={"Retry-After": "0", "Content-Type": "application/json"},
                          body='{"error": "unavailable", "message": "detector crashed"}')

        page.route("**/api/detect?*", unavailable)
        coffee.get_by_test_id("find-faces").click()
        alert = coffee.locator(".face-slot [role=alert]")
        alert.wait_for(timeout=RESULT_TIMEOUT_MS)
        assert tries == ["POST"] * 5  # a busy face finder is asked again, a bounded number of times
        assert "Could not look for faces" in alert.inner_text() and "busy" in alert.inner_text()
        assert not re.search(r"HTTP|503|Error\b|[{}<>]|crashed", alert.inner_text()), alert.inner_text()
        assert coffee.get_by_test_id("find-faces").get_attribute("aria-disabled") == "false"

        # Faces are numbered (and Tab-ordered) in reading order, whatever order the detector gave them in.
        scattered = [{"x": 400, "y": 210, "w": 60, "h": 60, "score": 0.9}, {"x": 50, "y": 40, "w": 60, "h": 60, "score": 0.8},
                     {"x": 200, "y": 205, "w": 60, "h": 60, "score": 0.95}, {"x": 300, "y": 30, "w": 60, "h": 60, "score": 0.7}]
        page.unroute("**/api/detect?*")
        page.route("**/api/detect?*", lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps({"width": 600, "height": 400, "faces": scattered})))
        coffee.get_by_test_id("find-faces").click()
        coffee.locator(".face-slot .status").filter(has_text="Found 4 faces").wait_for(timeout=RESULT_TIMEOUT_MS)
        assert [(a["x"], a["y"]) for a in areas_of(coffee)] == [(50, 40), (300, 30), (200, 205), (400, 210)]
        assert [a["label"].split(":")[0] for a in areas_of(coffee)] == [f"Area {n}, a face" for n in range(1, 5)]
        screenshot(page, "areas-faces.png")
        assert problems.problems == []
    finally:
        context.close()


@browser_test
def test_upload_of_chosen_areas_pixelates_them_and_nothing_else(browser, site):
    """A face found and kept, and an area drawn; the server is not asked to look for faces itself: the result is
    the server's pixelation of exactly those two boxes, every other pixel the original's. A second photo with no
    area is not uploaded: it says nothing is chosen."""
    from pixelate import pixelate_bytes

    context, page, problems = open_page(browser, site, viewport=DESKTOP)
    try:
        choose_areas(page, server_faces=False)
        page.get_by_test_id("pixel-size").fill("32")  # 32 px blocks: the face is at most 8 blocks across
        card, layer = open_editor(page, ASTRONAUT)
        page.get_by_test_id("file-input").set_input_files(str(SAMPLES / "chelsea.png"))
        chelsea = card_of(page, "chelsea.png")
        chelsea.locator("canvas.preview[data-target='areas']").wait_for()
        card.get_by_test_id("find-faces").click()
        card.locator(".face-slot .status").filter(has_text="Found").wait_for(timeout=RESULT_TIMEOUT_MS)
        layer.scroll_into_view_if_needed()
        mouse_drag(page, screen_point(layer, (512, 512), 20.5, 400.5), screen_point(layer, (512, 512), 120.5, 480.5))
        areas = areas_of(card)
        assert [a["source"] for a in areas] == ["face", "manual"]
        screenshot(page, "areas-before-upload.png")

        page.get_by_test_id("upload-button").click()
        assert "Nothing is chosen" in chelsea.get_by_test_id("error").inner_text()
        image = wait_for_result(card)
        assert chelsea.get_attribute("data-state") == "pending"
        assert natural_size(image) == (512, 512)

        record = status_record(page, site, card)
        boxes = [box_of(a) for a in areas]
        # the face kept is sent as a face region (it gets a face's block whatever the pixel size), the area as is
        assert record["options"]["regions"] == [",".join(map(str, boxes[0])) + ",face", ",".join(map(str, boxes[1]))]
        assert record["options"]["faces"] is False
        expected = [pixelated_area(b, (512, 512)) for b in boxes]
        assert [(r["x"], r["y"], r["x"] + r["w"], r["y"] + r["h"]) for r in record["regions"]] == expected
        assert [r["source"] for r in record["regions"]] == ["face", "manual"]
        assert all(r["block"] == 32 and "score" not in r for r in record["regions"])

        result = Image.open(io.BytesIO(fetch(page, image.get_attribute("src")))).convert("RGB")
        original = Image.open(ASTRONAUT).convert("RGB")
        assert outside_identical(result, original, expected), "pixels outside the chosen areas changed"
        reference = pixelate_bytes(ASTRONAUT.read_bytes(), size=32, regions=[(*boxes[0], "face"), boxes[1]]).data
        assert result.tobytes() == Image.open(io.BytesIO(reference)).convert("RGB").tobytes()
        for box in expected:
            assert max_difference(result, original, box) > 40, f"{box} is not pixelated"

        # The result shows what the server pixelated: outlines over the image, and words.
        assert card.locator(".result-area").count() == 2
        # a face kept is said as a face (it was sent as one), with its block: 32 px here, the pixel size asked
        assert card.locator(".result-caption").inner_text() == "Pixelated: 1 area you chose and 1 face you kept (32 px, average)"
        outline = card.locator(".result-area").first.bounding_box()
        shown = image.bounding_box()
        assert abs(outline["x"] - (shown["x"] + expected[0][0] * shown["width"] / 512)) <= 1.5
        screenshot(page, "areas-result.png")
        toggle = card.get_by_role("button", name="Outline what was pixelated")
        toggle.click()
        assert toggle.get_attribute("aria-pressed") == "false" and not card.locator(".result-area").first.is_visible()
        assert problems.problems == []
    finally:
        context.close()


@browser_test
def test_the_preview_of_an_upright_jpeg_is_what_its_dct_edit_makes(browser, site, tmp_path):
    """An upright JPEG is pixelated in the DCT domain: a drawn area grows outward to whole blocks of every component
    (16 px with 4:2:0 chroma), a face kept to whole 8 px blocks of the luma, and the blocks are laid from the grown
    box's corner. The preview shows just that ("nearest" takes the pixel path: there the area stays as drawn), and
    is the downloaded result, block for block, within JPEG decoding noise."""
    import numpy

    photo = tmp_path / "astronaut-420.jpg"
    Image.open(ASTRONAUT).convert("RGB").save(photo, quality=92, subsampling=2)
    context, page, problems = open_page(browser, site, viewport=DESKTOP)
    try:
        choose_areas(page, server_faces=False)
        card, layer = open_editor(page, photo)
        card.get_by_test_id("find-faces").click()
        card.locator(".face-slot .status").filter(has_text="Found").wait_for(timeout=RESULT_TIMEOUT_MS)
        card.get_by_test_id("add-area").click()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowDown")  # off the 16 px grid: the drawn area is not where its blocks start
        face, area = (box_of(a) for a in areas_of(card))
        assert area[0] % 16 and area[1] % 16, area

        def grown(box, unit):
            x0, y0 = box[0] // unit * unit, box[1] // unit * unit
            return x0, y0, min(512, -(-(box[0] + box[2]) // unit) * unit), min(512, -(-(box[1] + box[3]) // unit) * unit)

        expected = [grown(face, 8), grown(area, 16)]
        page.wait_for_function("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")
        preview = canvas_image(card)
        assert preview.size == (512, 512)

        # "nearest" is done on decoded pixels: the area is pixelated as drawn, the band around it left as it was
        page.locator("input[name=method][value=nearest]").check()
        card.locator("canvas.preview[data-method='nearest']").wait_for()
        page.wait_for_function("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")
        band = (expected[1][0], expected[1][1], area[0], expected[1][3])  # left of the area, inside its grown box
        assert max_difference(canvas_image(card), Image.open(photo).convert("RGB"), band) <= 8, "nearest grew the area"
        assert max_difference(preview, Image.open(photo).convert("RGB"), band) > 30, "the grown band is not pixelated"
        page.locator("input[name=method][value=average]").check()

        page.get_by_test_id("upload-button").click()
        image = wait_for_result(card)
        record = status_record(page, site, card)
        assert [(r["x"], r["y"], r["x"] + r["w"], r["y"] + r["h"]) for r in record["regions"]] == expected
        result = numpy.asarray(Image.open(io.BytesIO(fetch(page, image.get_attribute("src")))).convert("RGB"), dtype=float)
        shown = numpy.asarray(preview, dtype=float)
        mask = numpy.zeros((512, 512), bool)
        for x0, y0, x1, y1 in expected:
            mask[y0:y1, x0:x1] = True
            difference = numpy.abs(shown[y0:y1, x0:x1] - result[y0:y1, x0:x1])
            # (a face's 4:2:0 chroma cells start at the first 16 px chroma block inside it: a little colour differs)
            assert difference.mean() <= 4, ((x0, y0, x1, y1), difference.mean())
            # block by block in brightness, which the DCT edit lays exactly on the preview's grid
            luma = numpy.abs((shown[y0:y1, x0:x1] - result[y0:y1, x0:x1]) @ [0.299, 0.587, 0.114])
            blocks = luma.reshape((y1 - y0) // 8, 8, (x1 - x0) // 8, 8).mean(axis=(1, 3))
            assert blocks.max() <= 4, ((x0, y0, x1, y1), blocks.max())
        assert numpy.abs(shown[~mask] - result[~mask]).mean() <= 1.5, "the preview changed pixels outside the grown boxes"
        # the face's block is raised only when the face is more than 8 blocks of 16 px across or down
        face_block = max(r["block"] for r in record["regions"])
        raised = f"; faces in blocks of {face_block} px" if face_block > 16 else ""
        assert card.locator(".result-caption").inner_text() == f"Pixelated: 1 area you chose and 1 face you kept (16 px, average{raised})"
        assert problems.problems == []
    finally:
        context.close()


@browser_test
def test_the_server_also_hides_faces_it_finds_with_blocks_large_enough(browser, site, tmp_path):
    """Only an area on the flag is drawn, the face is left to the server: it is hidden all the same, with the
    block raised so that the face is at most 8 blocks across, and the page says so. On a copy whose face was also
    found and kept on the page, the server finds it again: the page counts and outlines that face once."""
    kept = tmp_path / "astronaut-kept.png"
    kept.write_bytes(ASTRONAUT.read_bytes())
    context, page, problems = open_page(browser, site, viewport=DESKTOP)
    try:
        choose_areas(page, server_faces=True)
        card, layer = open_editor(page, ASTRONAUT)
        mouse_drag(page, screen_point(layer, (512, 512), 0.5, 0.5), screen_point(layer, (512, 512), 80.5, 120.5))
        twice, twice_layer = open_editor(page, kept)
        twice.get_by_test_id("find-faces").click()
        twice.locator(".face-slot .status").filter(has_text="Found").wait_for(timeout=RESULT_TIMEOUT_MS)
        twice_layer.scroll_into_view_if_needed()
        mouse_drag(page, screen_point(twice_layer, (512, 512), 0.5, 0.5), screen_point(twice_layer, (512, 512), 80.5, 120.5))
        page.get_by_test_id("upload-button").click()
        image = wait_for_result(card)
        record = status_record(page, site, card)
        assert record["options"]["faces"] is True
        faces = [r for r in record["regions"] if r["source"] == "face"]
        assert len(faces) == 1 and covers((faces[0]["x"], faces[0]["y"], faces[0]["w"], faces[0]["h"]), ASTRONAUT_FACE)
        assert faces[0]["block"] > 16 and max(faces[0]["w"], faces[0]["h"]) / faces[0]["block"] <= 8
        # the face's larger block is said too, not only the pixel size asked
        assert card.locator(".result-caption").inner_text() == (
            f"Pixelated: 1 area you chose and 1 face the server found (16 px, average; faces in blocks of {faces[0]['block']} px)")
        result = Image.open(io.BytesIO(fetch(page, image.get_attribute("src")))).convert("RGB")
        original = Image.open(ASTRONAUT).convert("RGB")
        regions = [(r["x"], r["y"], r["x"] + r["w"], r["y"] + r["h"]) for r in record["regions"]]
        assert outside_identical(result, original, regions)

        # The face kept on the page and the one the server found are the same face: one in words, one outline.
        wait_for_result(twice)
        sources = sorted((r["source"], "score" in r) for r in status_record(page, site, twice)["regions"])
        assert sources == [("face", False), ("face", True), ("manual", False)]
        assert twice.locator(".result-caption").inner_text().startswith("Pixelated: 1 area you chose and 1 face you kept (")
        assert twice.locator(".result-area").count() == 2
        assert problems.problems == []
    finally:
        context.close()


@browser_test
def test_areas_on_a_turned_phone_photo_are_in_its_upright_pixels(browser, site, tmp_path):
    """A JPEG stored sideways with EXIF orientation 6: the page shows it upright, keeps areas in upright pixels,
    and the server pixelates them where they were drawn."""
    upright = Image.open(SAMPLES / "rocket.jpg").convert("RGB")  # 640 × 427
    turned = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to show": stored 427 wide and 640 high
    upright.transpose(Image.Transpose.ROTATE_90).save(turned, quality=95, exif=exif.tobytes())
    context, page, problems = open_page(browser, site, viewport=DESKTOP)
    try:
        choose_areas(page, server_faces=False)
        card, layer = open_editor(page, turned)
        assert natural_size(card.locator("img.original-image")) == (640, 427)
        assert "640 × 427 pixels" in card.locator(".card-meta").inner_text()
        box = layer.bounding_box()
        assert abs(box["width"] / box["height"] - 640 / 427) < 0.01
        mouse_drag(page, screen_point(layer, (640, 427), 400.5, 40.5), screen_point(layer, (640, 427), 600.5, 200.5))
        (area,) = areas_of(card)
        assert_near(box_of(area), (400, 40, 201, 161))
        page.get_by_test_id("upload-button").click()
        image = wait_for_result(card)
        assert natural_size(image) == (640, 427)
        record = status_record(page, site, card)
        (region,) = record["regions"]
        pixelated = (region["x"], region["y"], region["x"] + region["w"], region["y"] + region["h"])
        assert pixelated == pixelated_area(box_of(area), (640, 427))
        result = Image.open(io.BytesIO(fetch(page, image.get_attribute("src")))).convert("RGB")
        # A turned JPEG is decoded and encoded again: outside the area within JPEG noise, inside in flat blocks.
        inside = [ImageStat.Stat(result.crop((x + 2, y + 2, x + 14, y + 14))).stddev
                  for x in range(pixelated[0], pixelated[2] - 15, 16) for y in range(pixelated[1], pixelated[3] - 15, 16)]
        assert max(max(s) for s in inside) < 4, "the upright area is not pixelated"
        left = (0, 0, 380, 427)
        assert sum(ImageStat.Stat(Image.frombytes("RGB", (380, 427), bytes(
            abs(p - q) for p, q in zip(result.crop(left).tobytes(), upright.crop(left).tobytes())))).mean) / 3 < 3
        assert problems.problems == []
    finally:
        context.close()


@browser_test
def test_without_areas_the_server_finds_the_faces_and_says_when_there_were_none(browser, site):
    """No area drawn, the server asked to find faces: a TIFF the browser cannot show (no editor: the card says
    why) gets its face hidden; a photo with no face comes back as it was, and the card says nothing was pixelated."""
    from tests.support.paths import REPO

    tiff = REPO / "tests" / "corpus" / "hopper.tif"
    context, page, problems = open_page(browser, site, viewport=DESKTOP)
    try:
        choose_areas(page, server_faces=False)
        page.get_by_test_id("file-input").set_input_files([str(tiff), str(SAMPLES / "coffee.png")])
        hopper, coffee = card_of(page, "hopper.tif"), card_of(page, "coffee.png")
        coffee.locator("canvas.preview[data-target='areas']").wait_for()
        hopper.get_by_text("cannot show this photo").wait_for()
        assert not hopper.get_by_test_id("find-faces").is_visible()
        # Nothing chosen: the advice fits each card (no tools to draw with on the one the browser cannot show).
        page.get_by_test_id("upload-button").click()
        advice = hopper.get_by_test_id("error").inner_text()
        assert "Nothing is chosen" in advice and "cannot show" in advice and "Whole photo" in advice, advice
        assert "draw an area" not in advice and "Find faces" not in advice, advice
        assert "draw an area" in coffee.get_by_test_id("error").inner_text()
        page.get_by_test_id("server-faces").check()
        assert hopper.get_by_test_id("error").count() == 0
        page.get_by_test_id("upload-button").click()

        image = wait_for_result(coffee)
        assert coffee.get_by_test_id("warning").text_content().startswith("coffee.png: Nothing was pixelated")
        assert coffee.locator(".result-caption").inner_text() == "Nothing was pixelated"
        assert status_record(page, site, coffee)["regions"] == []
        result = Image.open(io.BytesIO(fetch(page, image.get_attribute("src")))).convert("RGB")
        assert result.tobytes() == Image.open(SAMPLES / "coffee.png").convert("RGB").tobytes()

        page.wait_for_function("card => card.dataset.state === 'done' || card.dataset.state === 'failed'",
                               arg=hopper.element_handle(), timeout=RESULT_TIMEOUT_MS)
        record = status_record(page, site, hopper)
        assert [r["source"] for r in record["regions"]] == ["face"]
        assert "1 face the server found" in hopper.locator(".result-caption").inner_text()
        assert "download" in hopper.locator(".no-display").inner_text()
        screenshot(page, "areas-server-faces.png")
        assert problems.problems == []
    finally:
        context.close()


@browser_test
def test_areas_on_a_turned_png_or_webp_land_where_they_were_drawn(browser, site):
    """Chromium shows a PNG or a WebP as stored, its EXIF orientation ignored, while the server turns it upright:
    the page reads the orientation itself (a WebP EXIF chunk; ImageMagick's hex "Raw profile type exif" in a PNG)
    and turns the photo, so an area drawn on it is where the server pixelates it."""
    from PIL import ImageOps

    from tests.support.paths import CORPUS

    photos = {"exif_imagemagick_orientation.png": 512, "hopper_orientation_3.webp": 128}  # both orientation 3
    context, page, problems = open_page(browser, site, viewport=DESKTOP)
    try:
        choose_areas(page, server_faces=False)
        drawn = {}
        for name, side in photos.items():
            card, layer = open_editor(page, CORPUS / name)
            stored = Image.open(CORPUS / name).convert("RGB")
            upright = ImageOps.exif_transpose(Image.open(CORPUS / name)).convert("RGB")
            # The preview (no area yet: the photo itself) is the upright photo, not the stored one.
            preview = canvas_image(card).resize(upright.size)
            to_upright, to_stored = (sum(ImageStat.Stat(Image.frombytes("RGB", upright.size, bytes(
                abs(p - q) for p, q in zip(preview.tobytes(), other.tobytes())))).mean) / 3 for other in (upright, stored))
            assert to_upright < 4 and to_stored > 10, (name, to_upright, to_stored)
            mouse_drag(page, screen_point(layer, (side, side), 0.5, 0.5), screen_point(layer, (side, side), side / 4 + 0.5, side / 4 + 0.5))
            (area,) = areas_of(card)
            drawn[name] = (card, box_of(area), upright)

        page.get_by_test_id("upload-button").click()
        for name, (card, area, upright) in drawn.items():
            image = wait_for_result(card)
            (region,) = status_record(page, site, card)["regions"]
            box = (region["x"], region["y"], region["x"] + region["w"], region["y"] + region["h"])
            assert box == pixelated_area(area, upright.size) and box[:2] == (0, 0)
            result = Image.open(io.BytesIO(fetch(page, image.get_attribute("src")))).convert("RGB")
            if name.endswith(".png"):
                assert outside_identical(result, upright, [box]), "pixels outside the area changed"
            blocks = [ImageStat.Stat(result.crop((x + 2, y + 2, x + 14, y + 14))).stddev
                      for x in range(0, box[2] - 15, 16) for y in range(0, box[3] - 15, 16)]
            assert max(max(s) for s in blocks) < 4, f"{name}: the top-left corner, where the area was drawn, is not pixelated"
        screenshot(page, "areas-turned.png")
        assert problems.problems == []
    finally:
        context.close()
