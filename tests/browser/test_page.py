"""The upload page in a real browser: Playwright drives Debian's chromium against `pixelate up`.

What a person does, end to end on one machine: open the page the local edge serves, pick a pixel size,
choose photos, upload, and get back images pixelated at that size; a file that is not an image gets a
readable error. The pixelated bytes are fetched and checked with Pillow, block by block. (The browser, the
stack and the helpers to drive them: tests/support/browser.py and tests/browser/conftest.py.)
"""
from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from tests.support.browser import (
    REPO,
    RESULT_TIMEOUT_MS,
    SAMPLES,
    UPLOAD_LIMIT_BYTES,
    assert_side_by_side,
    browser_test,
    card_of,
    fetch,
    natural_size,
    open_page,
    screenshot,
    wait_for_result,
)


# ---- checking pixelated images (pure) ---------------------------------------------------------------------


def block_boxes(width: int, height: int, size: int) -> list[tuple[int, int, int, int]]:
    """The server's grid: size×size blocks from the top-left, partial blocks at the right and bottom."""
    return [
        (left, top, min(left + size, width), min(top + size, height))
        for top in range(0, height, size)
        for left in range(0, width, size)
    ]


def block_stats(image, size: int) -> tuple[list[list[float]], list[float], int]:
    """Per block of ``image`` (RGB): mean colour and largest channel standard deviation; and columns."""
    means, spreads = [], []
    for box in block_boxes(image.width, image.height, size):
        stat = ImageStat.Stat(image.crop(box))
        means.append(stat.mean)
        spreads.append(max(stat.stddev))
    return means, spreads, -(-image.width // size)


def neighbour_difference_share(means: list[list[float]], cols: int, min_levels: float) -> float:
    """Share of side-by-side and stacked block pairs whose colours differ by at least ``min_levels``."""
    rows = len(means) // cols
    pairs = differing = 0
    for r in range(rows):
        for c in range(cols):
            here = means[r * cols + c]
            neighbours = []
            if c + 1 < cols:
                neighbours.append(means[r * cols + c + 1])
            if r + 1 < rows:
                neighbours.append(means[(r + 1) * cols + c])
            for other in neighbours:
                pairs += 1
                differing += max(abs(a - b) for a, b in zip(here, other)) >= min_levels
    return differing / pairs


def assert_pixelated(result_bytes: bytes, original_path: Path, size: int, lossy: bool) -> None:
    """The result is the original's size, every size×size block is one colour (within JPEG noise when
    lossy), neighbouring blocks differ (so the blocks are not larger), and each block's colour is the
    mean of the original's block (so it is this photo, averaged)."""
    result = Image.open(io.BytesIO(result_bytes))
    original = Image.open(original_path)
    assert result.size == original.size
    result, original = result.convert("RGB"), original.convert("RGB")
    means, spreads, cols = block_stats(result, size)
    # Calibrated on the samples: DC-only JPEG blocks spread ≤ 4.2 levels (chroma upsampling at block edges);
    # a 16-pixel pixelation measured on a 32 grid spreads 40–95, the unpixelated photo 55–120.
    assert max(spreads) <= (6.0 if lossy else 0.0), f"a {size}×{size} block is not one colour: {max(spreads):.1f}"
    # Measured: 80–95 % of neighbour pairs differ by ≥ 4 levels at the right size, 43–48 % at twice the size.
    share = neighbour_difference_share(means, cols, min_levels=4)
    assert share >= 0.65, f"only {share:.0%} of neighbouring blocks differ: the blocks are larger than {size}"
    original_means, _, _ = block_stats(original, size)
    errors = [max(abs(a - b) for a, b in zip(m, o)) for m, o in zip(means, original_means)]
    mean_error = sum(errors) / len(errors)
    # Measured: PNG ≤ 0.5 levels everywhere; JPEG's fast DC path 1.15 on average (nearest sampling: 13–31).
    assert mean_error <= (3.0 if lossy else 1.0), f"block colours are not the photo's block means ({mean_error:.1f})"
    if not lossy:
        assert max(errors) <= 1.0


def assert_nearest(result_bytes: bytes, original_path: Path, size: int) -> None:
    """Lossless result of the nearest method: each block is the original's pixel at the block's centre."""
    result = Image.open(io.BytesIO(result_bytes)).convert("RGB")
    original = Image.open(original_path).convert("RGB")
    assert result.size == original.size
    for left, top, right, bottom in block_boxes(*original.size, size):
        centre = original.getpixel((left + (right - left) // 2, top + (bottom - top) // 2))
        assert result.getpixel((left, top)) == centre
        assert result.getpixel((right - 1, bottom - 1)) == centre



def preview_block_colours(card, size: int) -> list[list[int]]:
    """The preview canvas's colour at the centre of each full block (the canvas is at the photo's scale)."""
    return card.locator("canvas.preview").evaluate(
        """(canvas, size) => {
            const ctx = canvas.getContext('2d');
            const out = [];
            for (let y = 0; y + size <= canvas.height; y += size)
                for (let x = 0; x + size <= canvas.width; x += size) {
                    const d = ctx.getImageData(x + (size >> 1), y + (size >> 1), 1, 1).data;
                    out.push([d[0], d[1], d[2]]);
                }
            return out;
        }""",
        size,
    )


# ---- the tests ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("photo", ["astronaut.png", "rocket.jpg"])
def test_the_pixelation_check_tells_the_right_size_from_wrong_ones(photo):
    """The checks the browser tests rely on pass for the right output and fail for near misses."""
    from pixelate import pixelate_bytes

    path = SAMPLES / photo
    lossy = path.suffix == ".jpg"
    data = path.read_bytes()
    assert_pixelated(pixelate_bytes(data, size=32).data, path, 32, lossy)
    for wrong in (pixelate_bytes(data, size=16).data, pixelate_bytes(data, size=64).data, data):
        with pytest.raises(AssertionError):
            assert_pixelated(wrong, path, 32, lossy)
    with pytest.raises(AssertionError):  # one sample per block is not the block's mean
        assert_pixelated(pixelate_bytes(data, size=32, method="nearest").data, path, 32, lossy)
    if not lossy:
        assert_nearest(pixelate_bytes(data, size=20, method="nearest").data, path, 20)
        with pytest.raises(AssertionError):
            assert_nearest(pixelate_bytes(data, size=20).data, path, 20)


@browser_test
def test_upload_photos_at_32_gives_images_pixelated_at_32(browser, site):
    context, page, problems = open_page(browser, site, viewport={"width": 1280, "height": 900})
    try:
        slider = page.get_by_test_id("pixel-size")
        slider.fill("32")
        assert page.locator("#pixel-size-value").inner_text() == "32 px"
        photos = [SAMPLES / "astronaut.png", SAMPLES / "rocket.jpg"]
        page.get_by_test_id("file-input").set_input_files([str(p) for p in photos])

        # Before anything is uploaded, the preview shows the blocks the server will make.
        astronaut = card_of(page, "astronaut.png")
        astronaut.locator("canvas.preview[data-pixel-size='32']").wait_for()
        preview = preview_block_colours(astronaut, 32)
        assert len(preview) == 16 * 16

        # one Pixelate button, for every photo chosen
        button = page.get_by_test_id("upload-button")
        assert page.locator("button[type=submit]").count() == 1 and button.inner_text() == "Pixelate 2 images"
        button.click()
        for photo in photos:
            card = card_of(page, photo.name)
            image = wait_for_result(card)
            with Image.open(photo) as original:
                assert natural_size(image) == original.size
            src = image.get_attribute("src")
            data = fetch(page, src)
            assert_pixelated(data, photo, 32, lossy=photo.suffix == ".jpg")
            assert card.get_by_test_id("download-link").get_attribute("href") == src
            assert card.get_by_test_id("download-link").get_attribute("download")
            assert "32 px" in image.get_attribute("alt")
            assert card.locator("img.original-image").get_attribute("alt") == f"Original: {photo.name}"
            assert card.locator("progress").evaluate("bar => bar.value") == 100
            assert_side_by_side(card)
            if photo.name == "astronaut.png":
                result = Image.open(io.BytesIO(data)).convert("RGB")
                served = [list(result.getpixel((x + 16, y + 16))) for y in range(0, 512, 32) for x in range(0, 512, 32)]
                worst = max(max(abs(a - b) for a, b in zip(p, s)) for p, s in zip(preview, served))
                assert worst <= 2, f"the preview differs from the server's result by {worst} levels"

        assert button.get_attribute("aria-disabled") == "true" and button.inner_text() == "Pixelate"  # nothing left
        screenshot(page, "upload-desktop.png")
        assert problems.problems == []
    finally:
        context.close()


@browser_test
def test_files_that_are_not_images_get_a_readable_error(browser, site, tmp_path):
    text_file = tmp_path / "notes.txt"
    text_file.write_text("This is a shopping list, not a picture.\n")
    fake_jpeg = tmp_path / "holiday.jpg"  # says JPEG by name and type; the bytes are not an image
    fake_jpeg.write_bytes(b"PK\x03\x04 certainly not a JPEG " * 40)
    empty_png = tmp_path / "empty.png"
    empty_png.write_bytes(b"")
    huge_jpeg = tmp_path / "huge.jpg"
    huge_jpeg.write_bytes(b"\xff\xd8\xff" + b"\0" * (UPLOAD_LIMIT_BYTES + 500_000))
    context, page, problems = open_page(browser, site, allow_api_refusals=True, viewport={"width": 1280, "height": 900})
    try:
        page.get_by_test_id("file-input").set_input_files([str(text_file), str(fake_jpeg), str(empty_png), str(huge_jpeg)])
        page.get_by_test_id("upload-button").click()
        # notes.txt is refused by the api (text/plain), holiday.jpg by the processing function (its bytes),
        # empty.png and huge.jpg by the api (their sizes).
        expected = (("notes.txt", "not an image"), ("holiday.jpg", "not an image"), ("empty.png", "empty"),
                    ("huge.jpg", "too large"))
        for name, words in expected:
            card = card_of(page, name)
            error = card.get_by_test_id("error")
            error.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
            text = error.inner_text()
            assert words in text.lower(), text
            # Words for people: no reason codes, HTTP numbers or exception names.
            assert not re.search(r"unsupported-|HTTP|Error\b|[{}<>]", text), text
            assert error.get_attribute("role") == "alert"
            assert card.get_attribute("data-state") == "failed"
            assert card.get_by_test_id("result-image").count() == 0
            assert card.get_by_test_id("retry").count() == 0  # refused for good: the same file would be again
        screenshot(page, "upload-errors.png")
        assert problems.problems == []
    finally:
        context.close()


@browser_test
def test_phone_sized_screen_fits_and_works(browser, site):
    context, page, problems = open_page(
        browser, site, viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    try:
        page.get_by_test_id("pixel-size").fill("24")
        page.get_by_test_id("file-input").set_input_files(str(SAMPLES / "chelsea.png"))
        page.get_by_test_id("upload-button").click()
        image = wait_for_result(card_of(page, "chelsea.png"))
        assert natural_size(image) == (451, 300)
        # Nothing sticks out sideways: no horizontal scrolling on a 375-pixel-wide screen.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
        box = image.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
        # the result the card's full width, below the original: side by side each would be a thumbnail
        original = card_of(page, "chelsea.png").locator("img.original-image").bounding_box()
        assert box["width"] >= 300 and box["y"] >= original["y"] + original["height"], (original, box)
        screenshot(page, "upload-phone.png")
        assert problems.problems == []
    finally:
        context.close()


def viewport_box(element) -> dict:
    """An element's box in the viewport (CSS px), and the viewport's height."""
    return element.evaluate(
        "el => { const r = el.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left, "
        "right: r.right, height: r.height, viewport: innerHeight}; }")


#: The screens the Pixelate bar is checked on: a phone with a home bar (its safe area, 34 CSS px, emulated), the
#: narrowest phone in use, a desktop.
SCREENS = {
    "iphone-13": {"device": "iPhone 13", "safe_bottom": 34},
    "phone-320": {"viewport": {"width": 320, "height": 568}, "device_scale_factor": 2, "is_mobile": True,
                  "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}


@browser_test
@pytest.mark.parametrize("screen", SCREENS)
def test_the_pixelate_button_is_in_reach_while_the_fifth_of_eight_photos_is_edited(browser, site, iphone_13, tmp_path,
                                                                                    screen):
    """With eight photos, the nearest Pixelate button was ~2,500 CSS px from the fifth on a phone. It is one
    button, at the bottom of the screen while there are photos: in reach without scrolling, clear of the phone's
    home bar, covering neither the photo scrolled into view nor the page's last lines."""
    options = dict(SCREENS[screen])
    safe_bottom = options.pop("safe_bottom", 0)
    if options.pop("device", None):
        options.update(iphone_13)
    photos = []
    for n in range(1, 9):
        photo = tmp_path / f"photo-{n}.png"
        photo.write_bytes((SAMPLES / "chelsea.png").read_bytes())
        photos.append(photo)
    context, page, problems = open_page(browser, site, **options)
    try:
        if safe_bottom:
            context.new_cdp_session(page).send("Emulation.setSafeAreaInsetsOverride",
                                               {"insets": {"top": 47, "bottom": safe_bottom, "left": 0, "right": 0}})
        button = page.get_by_test_id("upload-button")
        bar = button.locator("xpath=..")  # the form's actions: the button, "Clear finished", the summary
        # no photos: the button in the form, inactive, as before
        assert button.get_attribute("aria-disabled") == "true"
        assert bar.evaluate("el => getComputedStyle(el).position") != "fixed"

        page.get_by_test_id("target-areas").check()
        page.get_by_test_id("server-faces").set_checked(False)
        page.get_by_test_id("file-input").set_input_files([str(p) for p in photos])
        for photo in photos:
            card_of(page, photo.name).locator("canvas.preview[data-target='areas']").wait_for()
        fifth = card_of(page, "photo-5.png")
        fifth.get_by_test_id("add-area").click()
        layer = fifth.get_by_test_id("areas")
        layer.evaluate("el => el.scrollIntoView({block: 'end'})")  # the photo as low on the screen as it goes
        next_frames(page)

        # the Pixelate button on the screen, clear of the home bar; the photo not under it
        shown, docked, edited = viewport_box(button), viewport_box(bar), viewport_box(layer)
        assert 0 <= shown["top"] and shown["bottom"] <= shown["viewport"] - safe_bottom, (shown, safe_bottom)
        assert shown["height"] >= 44, shown
        assert abs(docked["bottom"] - docked["viewport"]) <= 1, docked  # the bar's background reaches the screen's edge
        assert edited["bottom"] <= docked["top"] + 1, (edited, docked)
        # and the only one: one tab stop, one name, for a screen reader as for a finger
        assert page.locator("button[type=submit]").count() == 1
        assert button.inner_text() == "Pixelate 8 images" and button.get_attribute("aria-disabled") == "false"
        assert page.evaluate("() => document.documentElement.scrollWidth") <= page.viewport_size["width"]
        assert page.get_by_test_id("actions-summary").inner_text().replace("\xa0", " ") == "1 area on 1 photo"
        # the summary is the button's description for a screen reader, not read a second time beside it
        assert page.get_by_test_id("actions-summary").get_attribute("aria-hidden") == "true"
        screenshot(page, f"pixelate-bar-{screen}.png", full_page=False)

        if options.get("has_touch"):
            button.tap()
        else:
            button.click()
        image = wait_for_result(fifth)
        assert natural_size(image) == (451, 300)
        assert card_of(page, "photo-1.png").locator(".nothing-chosen").count() == 1  # nothing chosen there: kept

        # the page's last line ends above the bar
        page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
        next_frames(page)
        footer, docked = viewport_box(page.locator(".site-footer p")), viewport_box(bar)
        assert footer["bottom"] <= docked["top"], (footer, docked)

        # nothing left to pixelate: the button inactive, the bar still there (with "Clear finished") while a photo is
        for n in (1, 2, 3, 4, 6, 7, 8):
            page.get_by_role("button", name=f"Remove photo-{n}.png").click()
        assert button.get_attribute("aria-disabled") == "true" and button.inner_text() == "Pixelate"
        assert bar.evaluate("el => getComputedStyle(el).position") == "fixed"
        bar.get_by_role("button", name="Clear finished").click()
        assert card_of(page, "photo-5.png").count() == 0
        assert bar.evaluate("el => getComputedStyle(el).position") != "fixed"
        assert page.evaluate("() => getComputedStyle(document.body).paddingBottom") == "0px"
        assert problems.problems == []
    finally:
        context.close()


def next_frames(page) -> None:
    page.wait_for_function("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")


@browser_test
def test_the_file_input_and_the_slider_are_finger_sized_on_a_touch_screen(browser, site, iphone_13):
    """44 × 44 CSS px at least under a finger (a coarse pointer); for a mouse they stay as they were (39 and 32 px
    tall)."""
    for options, finger in ((iphone_13, True), ({"viewport": {"width": 1280, "height": 800}}, False)):
        context, page, problems = open_page(browser, site, **options)
        try:
            assert page.evaluate("() => matchMedia('(pointer: coarse)').matches") == finger
            for testid in ("file-input", "pixel-size"):
                box = page.get_by_test_id(testid).bounding_box()
                if finger:
                    assert box["width"] >= 44 and box["height"] >= 44, (testid, box)
                else:
                    assert box["height"] < 44, (testid, box)
            if finger:
                screenshot(page, "touch-targets-iphone-13.png", full_page=False)
            assert problems.problems == []
        finally:
            context.close()


@browser_test
def test_keyboard_alone_chooses_sets_and_uploads(browser, site):
    context, page, problems = open_page(browser, site, viewport={"width": 1280, "height": 900})
    try:
        reached = []
        for _ in range(12):
            page.keyboard.press("Tab")
            testid = page.evaluate("() => document.activeElement.dataset.testid || document.activeElement.id")
            reached.append(testid)
            if testid == "file-input":
                break
        assert reached[-1] == "file-input", f"Tab never reached the file input: {reached}"
        assert_focus_visible(page)
        # The focused file input opens the chooser from the keyboard.
        with page.expect_file_chooser() as chooser:
            page.keyboard.press("Space")
        chooser.value.set_files(str(SAMPLES / "coffee.png"))
        card_of(page, "coffee.png").wait_for()

        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.dataset.testid") == "pixel-size"
        assert_focus_visible(page)
        for _ in range(4):
            page.keyboard.press("ArrowRight")  # 16 → 20
        assert page.get_by_test_id("pixel-size").input_value() == "20"
        assert page.locator("#pixel-size-value").inner_text() == "20 px"

        page.keyboard.press("Tab")  # the method radios: arrows move the choice
        assert page.evaluate("() => document.activeElement.value") == "average"
        assert_focus_visible(page)
        page.keyboard.press("ArrowDown")
        assert page.locator('input[name="method"]:checked').input_value() == "nearest"

        card = card_of(page, "coffee.png")
        card.locator("canvas.preview[data-pixel-size='20'][data-method='nearest']").wait_for()
        preview = preview_block_colours(card, 20)

        page.keyboard.press("Tab")  # what to pixelate: the whole photo, as chosen from the start
        assert page.evaluate("() => document.activeElement.value") == "whole"
        assert_focus_visible(page)

        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.id") == "upload-button"
        assert_focus_visible(page)
        page.keyboard.press("Enter")
        image = wait_for_result(card)
        # Focus stays where the person left it, so the keyboard carries on from there.
        assert page.evaluate("() => document.activeElement.id") == "upload-button"
        assert natural_size(image) == (600, 400)
        data = fetch(page, image.get_attribute("src"))
        assert_nearest(data, SAMPLES / "coffee.png", 20)
        # What the preview showed before the upload is exactly what came back.
        result = Image.open(io.BytesIO(data)).convert("RGB")
        served = [list(result.getpixel((x + 10, y + 10))) for y in range(0, 400, 20) for x in range(0, 600, 20)]
        assert preview == served
        screenshot(page, "upload-keyboard.png")
        assert problems.problems == []
    finally:
        context.close()


def assert_focus_visible(page) -> None:
    """The focused element shows a focus ring a person can see (not the browser's suppressed default)."""
    style = page.evaluate(
        """() => {
            const el = document.activeElement;
            const s = getComputedStyle(el);
            return {visible: el.matches(':focus-visible'), style: s.outlineStyle, width: parseFloat(s.outlineWidth)};
        }"""
    )
    assert style["visible"] and style["style"] != "none" and style["width"] >= 2, style


def drop_files(page, target: str, paths: list[Path]) -> None:
    """Drop files on ``target`` the way a person drags them from the desktop: dragenter, dragover, drop."""
    files = [
        {"name": p.name, "type": Image.MIME.get(Image.open(p).format, "") if p.suffix != ".txt" else "text/plain",
         "data": base64.b64encode(p.read_bytes()).decode("ascii")}
        for p in paths
    ]
    transfer = page.evaluate_handle(
        """files => {
            const transfer = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.data), c => c.charCodeAt(0));
                transfer.items.add(new File([bytes], f.name, {type: f.type}));
            }
            return transfer;
        }""",
        files,
    )
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event(target, event, {"dataTransfer": transfer})


@browser_test
def test_dropped_files_preview_live_and_a_tiff_result_is_offered_for_download(browser, site):
    context, page, problems = open_page(browser, site, viewport={"width": 1280, "height": 900})
    try:
        tiff = REPO / "tests" / "corpus" / "hopper.tif"
        drop_files(page, "#dropzone", [SAMPLES / "astronaut.png", tiff])
        astronaut, hopper = card_of(page, "astronaut.png"), card_of(page, "hopper.tif")
        astronaut.locator("canvas.preview[data-pixel-size='16']").wait_for()
        # The preview follows the slider and the method before anything is uploaded.
        page.get_by_test_id("pixel-size").fill("40")
        astronaut.locator("canvas.preview[data-pixel-size='40'][data-method='average']").wait_for()
        page.get_by_role("radio", name=re.compile("^Nearest")).check()
        astronaut.locator("canvas.preview[data-pixel-size='40'][data-method='nearest']").wait_for()
        # Chromium cannot show TIFF: no preview, said in words, and the upload still goes ahead.
        assert "cannot show" in hopper.inner_text()
        astronaut.get_by_role("button", name="Remove astronaut.png").click()
        assert card_of(page, "astronaut.png").count() == 0

        page.get_by_test_id("pixel-size").fill("16")
        page.get_by_role("radio", name=re.compile("^Average")).check()
        page.get_by_test_id("upload-button").click()
        page.wait_for_function(
            "card => card.dataset.state === 'done' || card.dataset.state === 'failed'",
            arg=hopper.element_handle(),
            timeout=RESULT_TIMEOUT_MS,
        )
        assert hopper.get_by_test_id("error").count() == 0
        assert "download" in hopper.locator(".no-display").inner_text()
        link = hopper.get_by_test_id("download-link")
        # the link names the file saved (a TIFF comes back as .tiff), not the one uploaded
        assert link.get_attribute("download") == "hopper-pixelated-16.tiff"
        assert link.inner_text() == "Download hopper-pixelated-16.tiff"
        data = fetch(page, link.get_attribute("href"))
        assert Image.open(io.BytesIO(data)).format == "TIFF"
        assert_pixelated(data, tiff, 16, lossy=False)
        screenshot(page, "upload-dropped-tiff.png")
        assert problems.problems == []
    finally:
        context.close()


def preview_at_block_centres(page, width: int, height: int, size: int) -> list[tuple[int, int, list[int]]]:
    """(x, y, colour) of the preview canvas at the centre of each full block, mapped to the canvas's scale."""
    return page.locator("canvas.preview").evaluate(
        """(canvas, [width, height, size]) => {
            const scale = canvas.width / width;
            const ctx = canvas.getContext('2d');
            const out = [];
            for (let y = 0; y + size <= height; y += size)
                for (let x = 0; x + size <= width; x += size) {
                    const d = ctx.getImageData(Math.floor((x + size / 2) * scale), Math.floor((y + size / 2) * scale), 1, 1).data;
                    out.push([x, y, [d[0], d[1], d[2]]]);
                }
            return out;
        }""",
        [width, height, size],
    )


@browser_test
def test_preview_of_a_large_photo_shows_what_the_server_makes(browser, site, tmp_path):
    """A photo larger than the preview's working copy (1024 px): "nearest" is exact, "average" within
    a level or two per block (measured: median 1, 95th percentile 3–4 at these sizes)."""
    from pixelate import pixelate_bytes

    large = tmp_path / "coffee-large.png"
    Image.open(SAMPLES / "coffee.png").convert("RGB").resize((2400, 1600), Image.Resampling.BICUBIC).save(large)
    data = large.read_bytes()
    context, page, problems = open_page(browser, site, viewport={"width": 1280, "height": 900})
    try:
        page.get_by_test_id("file-input").set_input_files(str(large))
        for size, method in ((64, "nearest"), (75, "nearest"), (64, "average"), (100, "average")):
            page.get_by_test_id("pixel-size").fill(str(size))
            page.get_by_role("radio", name=re.compile("^" + method.capitalize())).check()
            page.locator(f"canvas.preview[data-pixel-size='{size}'][data-method='{method}']").wait_for()
            server = Image.open(io.BytesIO(pixelate_bytes(data, size=size, method=method).data)).convert("RGB")
            errors = sorted(
                max(abs(a - b) for a, b in zip(colour, server.getpixel((x + size // 2, y + size // 2))))
                for x, y, colour in preview_at_block_centres(page, 2400, 1600, size)
            )
            median, p95 = errors[len(errors) // 2], errors[int(0.95 * len(errors))]
            if method == "nearest":
                assert errors[-1] == 0, f"nearest preview at {size} differs by up to {errors[-1]} levels"
            else:
                assert median <= 2 and p95 <= 6, f"average preview at {size}: median {median}, p95 {p95}"
        assert problems.problems == []
    finally:
        context.close()


@browser_test
def test_a_service_that_cannot_be_reached_after_upload_is_said_and_checked_again(browser, site):
    """The photo is uploaded, then the status cannot be fetched: after a few tries (~20 s of back-off, run on a
    fake clock here) the card says the service cannot be reached, not "Pixelating…" for ten minutes, and offers to
    check again; once the service answers, the result comes."""
    context, page, problems = open_page(browser, site, viewport={"width": 1280, "height": 900})
    polls = []

    def unreachable(route):
        polls.append(route.request.url)
        route.abort("connectionrefused")

    try:
        page.clock.install()
        page.reload()
        page.route(re.compile(r"/api/uploads/[^/?]+$"), unreachable)
        page.get_by_test_id("file-input").set_input_files(str(SAMPLES / "chelsea.png"))
        page.get_by_test_id("upload-button").click()
        card = card_of(page, "chelsea.png")
        card.locator(".state", has_text="Pixelating").wait_for(timeout=RESULT_TIMEOUT_MS)
        error = card.get_by_test_id("error")
        for _ in range(40):
            if error.count():
                break
            page.clock.run_for(2000)
            page.wait_for_timeout(50)
        assert "cannot be reached" in error.inner_text(), card.inner_text()
        assert 8 <= len(polls) <= 12, len(polls)  # a few tries, not ten minutes' worth
        assert card.get_attribute("data-state") == "failed"
        # its progress is unknown, so it is not "finished": Clear finished leaves it
        page.get_by_role("button", name=re.compile("Clear finished")).click()
        assert card.count() == 1

        page.unroute(re.compile(r"/api/uploads/[^/?]+$"))
        card.get_by_role("button", name="Check again: chelsea.png").click()
        # the button is gone: focus is on the card's state, which says what happens now
        assert page.evaluate("document.activeElement.classList.contains('state')")
        page.clock.run_for(2000)
        card.get_by_test_id("result-image").wait_for(timeout=RESULT_TIMEOUT_MS)
        assert card.get_attribute("data-state") == "done" and error.count() == 0
        assert [p for p in problems.problems if "ERR_CONNECTION_REFUSED" not in p] == []
    finally:
        context.close()


@browser_test
def test_a_busy_api_is_asked_again_after_its_retry_after_and_the_person_is_told(browser, site):
    """429 and 503 are not final: the page waits (Retry-After when given, else back-off with jitter), says so
    on the card, and tries again a bounded number of times."""
    context, page, problems = open_page(browser, site, allow_api_refusals=True, viewport={"width": 1280, "height": 900})
    answered = []

    def busy_twice(route):
        answered.append(route.request.method)
        if len(answered) == 1:
            route.fulfill(status=429, headers={"Retry-After": "1", "Content-Type": "application/json"},
                          body='{"error": "throttled", "message": "Too Many Requests"}')
        elif len(answered) == 2:
            route.fulfill(status=503, headers={"Content-Type": "application/json"},
                          body='{"error": "unavailable", "message": "Service Unavailable"}')
        else:
            route.continue_()

    try:
        page.route(re.compile(r"/api/uploads$"), busy_twice)
        page.get_by_test_id("file-input").set_input_files(str(SAMPLES / "chelsea.png"))
        page.get_by_test_id("upload-button").click()
        card = card_of(page, "chelsea.png")
        card.locator(".state", has_text=re.compile(r"busy: trying again in 1 s")).wait_for(timeout=RESULT_TIMEOUT_MS)
        wait_for_result(card)
        assert answered == ["POST", "POST", "POST"]
        assert [p for p in problems.problems if "status of 503" not in p] == []  # the 503 is this test's own
    finally:
        context.close()


@browser_test
def test_a_busy_api_is_given_up_after_a_bounded_number_of_tries_with_words_for_people(browser, site):
    """Given up, the card offers to try again: the same photo, with the same areas and options."""
    context, page, problems = open_page(browser, site, allow_api_refusals=True, viewport={"width": 1280, "height": 900})
    answered = []

    def always_busy(route):
        answered.append(route.request.method)
        route.fulfill(status=429, headers={"Retry-After": "0", "Content-Type": "application/json"},
                      body='{"error": "throttled", "message": "Too Many Requests"}')

    try:
        page.route(re.compile(r"/api/uploads$"), always_busy)
        page.get_by_test_id("target-areas").check()
        page.get_by_test_id("server-faces").set_checked(False)
        page.get_by_test_id("pixel-size").fill("24")
        page.get_by_test_id("file-input").set_input_files(str(SAMPLES / "chelsea.png"))
        card = card_of(page, "chelsea.png")
        card.locator("canvas.preview[data-target='areas']").wait_for()
        card.get_by_test_id("add-area").click()
        area = card.get_by_test_id("area").evaluate("el => [+el.dataset.x, +el.dataset.y, +el.dataset.w, +el.dataset.h]")
        page.get_by_test_id("upload-button").click()
        error = card.get_by_test_id("error")
        error.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
        assert "busy" in error.inner_text() and "HTTP" not in error.inner_text()
        assert card.get_attribute("data-state") == "failed"
        assert answered == ["POST"] * 5  # RETRY_TRIES in app.js

        # The service is back: "Try again" sends the same photo, area and options.
        page.unroute(re.compile(r"/api/uploads$"))
        page.get_by_test_id("pixel-size").fill("8")  # changed since: the retry keeps what was sent
        card.get_by_role("button", name="Try again: chelsea.png").click()
        wait_for_result(card)
        record = page.request.get(f"{site}api/uploads/{card.get_attribute('data-upload-id')}").json()
        assert record["options"]["pixel_size"] == 24 and record["options"]["regions"] == [",".join(map(str, area))]
        assert problems.problems == []
    finally:
        context.close()
