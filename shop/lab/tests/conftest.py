"""The browser fixtures (browser.py) for the lab's tests."""

from .browser import chromium, open_tab  # noqa: F401 (fixtures)
