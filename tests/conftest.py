"""Fixtures shared by every test module.

Credentials here are made up for tests; none is a real account's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Keep matplotlib off any display, before anything imports pyplot.
os.environ.setdefault("MPLBACKEND", "Agg")

TEST_AUTH_ID = "MA" + "TESTACCOUNT0000001"[:18]
TEST_AUTH_TOKEN = "test-token-" + "x" * 29


@pytest.fixture
def auth_id() -> str:
    return TEST_AUTH_ID


@pytest.fixture
def auth_token() -> str:
    return TEST_AUTH_TOKEN


@pytest.fixture
def env(auth_id: str, auth_token: str) -> dict[str, str]:
    """An injectable environment with credentials, instead of patching os.environ."""
    return {"PLIVO_AUTH_ID": auth_id, "PLIVO_AUTH_TOKEN": auth_token}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium (Playwright) for the browser tests, with test_browser.py's flags and its
    check that Debian's Chromium is there."""
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM_ARGS, _chromium

    executable = _chromium()
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()
