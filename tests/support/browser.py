"""Driving the upload page in a real browser: Debian chromium through Playwright, against `pixelate up`.

Shared by the browser tests (tests/browser/): whether a browser is here, the local stack the page is served by,
a page with its JavaScript and console errors collected, and small ways to look at the page's cards. The
fixtures that start the stack and the browser are in tests/browser/conftest.py.

No browser is downloaded: chromium comes from Debian (`apt-get install chromium`; `.ci/run` does it).
Without it the browser tests are skipped with the reason, unless PIXELATE_REQUIRE_BROWSER=1 (CI), where a
missing browser is a failure. Screenshots go to test-artifacts/ (git-ignored).
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.moto import AWS_TEST_ENV, free_port
from tests.support.paths import REPO

SAMPLES = REPO / "samples"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("PIXELATE_CHROMIUM", "/usr/bin/chromium")
# Flags for a headless, sandbox-less chromium that never reaches the network on its own.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STACK_START_TIMEOUT_S = 90
RESULT_TIMEOUT_MS = 60_000
#: The stack's MaxUploadBytes in these tests: above every photo they upload (≤ 800 KB).
UPLOAD_LIMIT_BYTES = 2_000_000


def browser_test(test):
    """Marks of a test that drives chromium against the local stack (the module's checker tests need neither)."""
    for mark in (pytest.mark.browser, pytest.mark.stack, pytest.mark.slow, pytest.mark.timeout(300)):
        test = mark(test)
    return test


# ---- is there a browser? --------------------------------------------------------------------------------


def browser_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"chromium not found at {CHROMIUM}: install it with `apt-get install chromium` (CI's .ci/run does)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


def require_browser() -> None:
    """Skip with the reason, except where a browser is required (CI): there its absence fails the run."""
    reason = browser_missing_reason()
    if reason is None:
        return
    if os.environ.get("PIXELATE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"PIXELATE_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


# ---- the local stack ----------------------------------------------------------------------------------------


def wait_for_stack(cwd: Path, process: subprocess.Popen, log: Path) -> dict:
    """Wait until `pixelate up` has written .pixelate/stack.json and its edge serves the page."""
    stack_file = cwd / ".pixelate" / "stack.json"
    deadline = time.monotonic() + STACK_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pixelate up exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        if stack_file.exists():
            try:
                outputs = json.loads(stack_file.read_text())
                with urllib.request.urlopen(outputs["DistributionUrl"].rstrip("/") + "/", timeout=2) as response:
                    if response.status == 200:
                        return outputs
            except (ValueError, KeyError, OSError):
                pass  # half-written file, or the edge is not listening yet
        time.sleep(0.2)
    raise TimeoutError(f"pixelate up did not serve the page in {STACK_START_TIMEOUT_S} s:\n{log.read_text()[-4000:]}")


def stop_stack(process: subprocess.Popen) -> None:
    """Ctrl-C, as a person would; the process group (which we started) is killed only if that hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
            return
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)




@contextlib.contextmanager
def local_stack(cwd: Path):
    """`pixelate up` on a free port in ``cwd``: the URL of its edge (DistributionUrl), stopped on exit."""
    log = cwd / "pixelate-up.log"
    # Fake credentials and no endpoint inherited from other tests: the stack chooses its own moto.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_TEST_ENV)
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pixelate.cli", "up", "--port", str(free_port()), "--quiet",
             # a small upload limit, so that "too large" costs a 2.5 MB file, not a 26 MB one
             "--parameter", f"MaxUploadBytes={UPLOAD_LIMIT_BYTES}"],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a hung stack can be cleaned up whole
        )
    try:
        outputs = wait_for_stack(cwd, process, log)
        yield outputs["DistributionUrl"].rstrip("/") + "/"
    finally:
        stop_stack(process)


# ---- the browser ----------------------------------------------------------------------------------------------


class PageProblems:
    """JavaScript errors and console errors of one page, except the answers the page expects.

    Chromium logs every 4xx response as a console error ("Failed to load resource"). The page expects a
    404 from GET /api/uploads/{id} until the status exists, and the error tests expect a 4xx from
    POST /api/uploads (``allow_api_refusals``) or an error from another path a test makes fail on purpose
    (``expected_failures``, a regular expression of the path): those, and only those, are not problems.
    """

    EXPECTED_RESOURCE_ERRORS = re.compile(r"/api/uploads(/[^/?#]+)?$")

    def __init__(self, page, allow_api_refusals: bool = False, expected_failures: str | None = None):
        self.problems: list[str] = []
        self.allow_api_refusals = allow_api_refusals
        self.expected_failures = re.compile(expected_failures) if expected_failures else None
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self._on_console)

    def _on_console(self, message) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        status = re.search(r"status of (\d{3})", message.text)
        if status and self.expected_failures and self.expected_failures.search(url.split("?")[0]):
            return
        if status and self.EXPECTED_RESOURCE_ERRORS.search(url.split("?")[0]):
            code = int(status.group(1))
            is_poll_404 = code == 404 and re.search(r"/api/uploads/[^/]+$", url)
            if is_poll_404 or (self.allow_api_refusals and 400 <= code < 500):
                return
        self.problems.append(f"console error: {message.text} ({url})")


def open_page(browser, url: str, allow_api_refusals: bool = False, expected_failures: str | None = None,
              **context_options):
    context = browser.new_context(**context_options)
    page = context.new_page()
    problems = PageProblems(page, allow_api_refusals, expected_failures)
    # Playwright turns on file-chooser interception when the first listener is added, asynchronously: a key
    # press right after `expect_file_chooser` could open (and lose) a real dialog, about one run in six.
    # Listening from the start means interception is on long before any key is pressed.
    page.on("filechooser", lambda _chooser: None)
    page.goto(url)
    return context, page, problems


def screenshot(page, name: str, full_page: bool = True) -> Path:
    """A screenshot in test-artifacts/. A full-page one resizes the viewport for a moment: in Chromium's mobile
    emulation, touches afterwards may scroll the page through ``touch-action: none`` (measured), so a test that
    goes on touching takes the viewport only (``full_page=False``)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full_page)
    return path


def card_of(page, filename: str):
    return page.get_by_test_id("file-card").filter(has=page.locator(".card-title", has_text=filename))


def wait_for_result(card):
    """The card's pixelated image, once it has loaded (or the card's error, as the failure message)."""
    card.page.wait_for_function(
        """card => card.dataset.state === 'done' || card.dataset.state === 'failed'""",
        arg=card.element_handle(),
        timeout=RESULT_TIMEOUT_MS,
    )
    errors = card.get_by_test_id("error")
    assert errors.count() == 0, f"the upload failed on the page: {errors.first.inner_text()}"
    image = card.get_by_test_id("result-image")
    image.wait_for(state="visible")
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    return image


def assert_side_by_side(card) -> None:
    """Original on the left, pixelated on the right, on one row."""
    original = card.locator("img.original-image").bounding_box()
    result = card.get_by_test_id("result-image").bounding_box()
    assert abs(original["y"] - result["y"]) < 1 and result["x"] >= original["x"] + original["width"], (original, result)


def natural_size(image) -> tuple[int, int]:
    return tuple(image.evaluate("img => [img.naturalWidth, img.naturalHeight]"))


def fetch(page, url: str) -> bytes:
    response = page.request.get(url)
    assert response.ok, f"GET {url}: {response.status}"
    return response.body()

