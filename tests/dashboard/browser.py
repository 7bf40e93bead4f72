"""Headless Chromium for the dashboard tests: Debian's chromium and chromium-driver, driven by Selenium.

scripts/install-test-system-deps.sh installs both (and a CJK font so that screenshots show the Chinese text).
The flags keep Chromium off the network: without them it tries to reach Google's hosts for updates, sync and
field trials, which cannot be reached here.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--disable-extensions", "--disable-dev-shm-usage",
                  "--no-default-browser-check", "--metrics-recording-only", "--window-size=1600,1000",
                  "--lang=zh-CN", "--autoplay-policy=no-user-gesture-required")

T = TypeVar("T")


def missing_browser() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return f"{path} is missing: run `bash scripts/install-test-system-deps.sh` (as root) first"
    return None


class Browser:
    """One Chromium with a fresh, empty profile; `quit()` removes the profile."""

    def __init__(self) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        problem = missing_browser()
        if problem:
            raise RuntimeError(problem)
        self.profile = Path(tempfile.mkdtemp(prefix="counterwatch-chromium-"))
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # The driver is given by path, so Selenium Manager (which would download one) never runs.
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.driver.set_page_load_timeout(30)

    def quit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def console_errors(self) -> list[str]:
        return [entry["message"] for entry in self.driver.get_log("browser") if entry.get("level") == "SEVERE"]


def wait_for(condition: Callable[[], T], timeout_s: float, what: str, interval_s: float = 0.2) -> T:
    """Poll until `condition()` is truthy (exceptions count as not yet); AssertionError naming `what` on timeout."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - stale elements and the like: try again
            last_error = error
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}"
                                 + (f" (last error: {last_error!r})" if last_error else ""))
        time.sleep(interval_s)
