"""A real browser for the desk's tests: Debian's chromium, driven by Playwright.

Playwright's own browser downloads are not used: `make test` installs the `chromium`
package when /usr/bin/chromium is missing, and the tests fail (not skip) without it, so
a run cannot pass without having looked at the pages.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1280, "height": 800}


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Problems:
    """What went wrong inside a page: uncaught errors and Content-Security-Policy
    refusals (the desk must need neither inline script nor foreign assets)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Page) -> Page:
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("console", self._console)
        return page

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.errors.append(f"console: {message.text}")


def new_context(browser: Browser, base_url: str, locale: str = "pl-PL") -> BrowserContext:
    """A fresh browser profile (its own cookies): one per agent."""
    return browser.new_context(base_url=base_url, viewport=VIEWPORT, locale=locale)
