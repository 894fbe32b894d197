"""The browser tests' fixtures: one local stack and one chromium for the whole session, shared by every module."""
from __future__ import annotations

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, local_stack, require_browser


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> str:
    """`pixelate up` on a free port, in a fresh directory: the URL of its edge (DistributionUrl)."""
    require_browser()
    with local_stack(tmp_path_factory.mktemp("stack")) as url:
        yield url


@pytest.fixture(scope="session")
def playwright():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright):
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="session")
def iphone_13(playwright) -> dict:
    """Playwright's iPhone 13 (390 × 664 CSS px, touch, a mobile viewport, Safari's user agent), as new_context's
    options for chromium: without its default browser (webkit)."""
    device = dict(playwright.devices["iPhone 13"])
    device.pop("default_browser_type")
    return device
