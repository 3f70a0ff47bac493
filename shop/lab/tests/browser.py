"""Playwright fixtures: Debian's Chromium, one tab per test, screenshots in test-artifacts/.

Import the fixtures into a test module (``from shop.lab.tests.browser import chromium, open_tab``).
They are module-scoped on purpose: while Playwright's sync API runs, the process has a running
asyncio loop, and Django refuses ORM calls under one (SynchronousOnlyOperation). Stopping
Playwright at the end of the module keeps that away from every other test module, and browser
tests never touch the database in-process: they go through the stack.
"""

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from conftest import require_binary

# Playwright's own browser download is not used: Debian's Chromium is what CI installs.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ARTIFACTS = settings.BASE_DIR / "test-artifacts" / "browser"


@dataclass
class Tab:
    """A page on the stack, and what it reported along the way."""

    page: object
    folder: Path
    console_errors: list = field(default_factory=list)
    answered_by: list = field(default_factory=list)  # X-Served-By of every Django response
    server_errors: list = field(default_factory=list)
    shots: int = 0

    def listen(self):
        def on_console(message):
            if message.type == "error":
                self.console_errors.append(f"{message.text} ({message.location.get('url')})")

        def on_response(response):
            served_by = response.headers.get("x-served-by")
            if served_by:
                self.answered_by.append(served_by)
            if response.status >= 500:
                self.server_errors.append(f"{response.status} {response.request.method} {response.url}")

        self.page.on("console", on_console)
        # CSP violations are console errors; uncaught exceptions in our scripts are these.
        self.page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))
        self.page.on("response", on_response)

    @property
    def path(self):
        parts = urlsplit(self.page.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def screenshot(self, step, viewport=None):
        """Save the whole page as test-artifacts/browser/<test>/<nn>-<step>.png."""
        self.shots += 1
        if viewport:
            self.page.set_viewport_size(viewport)
        try:
            self.page.screenshot(path=self.folder / f"{self.shots:02d}-{step}.png", full_page=True)
            # How far the page is wider than the window: horizontal scrolling on a phone.
            return self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        finally:
            if viewport:
                self.page.set_viewport_size(DESKTOP)

    def save(self, name, record):
        (self.folder / f"{name}.json").write_text(json.dumps(record, indent=2, default=str) + "\n")


def artifacts_folder(node_name):
    """One folder per test, emptied first so no screenshot outlives the run that took it."""
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "-", node_name).strip("-")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="module")
def chromium():
    """Headless Debian Chromium (skipped when missing, a failure with CI=true)."""
    executable = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_tab(request, chromium):
    """``open_tab(stack)``: a fresh browser context (no cookies) with one page on the stack."""
    contexts = []

    def open_(stack):
        context = chromium.new_context(base_url=stack.url, viewport=DESKTOP)
        context.set_default_timeout(15_000)
        contexts.append(context)
        tab = Tab(context.new_page(), artifacts_folder(request.node.name))
        tab.listen()
        return tab

    yield open_
    for context in contexts:
        context.close()
