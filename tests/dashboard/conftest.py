"""Shared fixtures of the dashboard tests."""
from __future__ import annotations

import pytest

from tests.dashboard.browser import Browser


@pytest.fixture
def browser():
    """A real headless Chromium (Debian's chromium + chromedriver), quit after the test."""
    chromium = Browser()
    try:
        yield chromium
    finally:
        chromium.quit()
