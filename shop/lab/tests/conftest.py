"""Browser fixtures for the lab's tests (defined in browser.py, see its docstring)."""

from .browser import chromium, open_tab  # noqa: F401 (fixtures)
