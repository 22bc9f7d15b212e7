"""Fixtures of the browser tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from .lab import CHROMIUM, CHROMIUM_ARGS


# pytest-jupyter's autouse loop and clean-up fixtures clash with the sync Playwright API at teardown, and these
# tests run the server as a subprocess anyway: replace them here with no-ops.
@pytest.fixture
def jp_asyncio_loop() -> Iterator[None]:
    yield None


@pytest.fixture
def jp_server_cleanup() -> Iterator[None]:
    yield


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium, through Playwright's sync API."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
