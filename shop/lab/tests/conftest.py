"""Fixtures for the lab's tests: a scenario run quickly, and the browser (browser.py)."""

import pytest

from shop.lab.experiments.context import Context
from shop.lab.experiments.scenarios import BY_KEY

from .browser import chromium, open_tab  # noqa: F401 (fixtures)


@pytest.fixture
def run(start_stack):
    """run(key, stack) -> the scenario's Outcome, measured in its quick form."""

    def run_scenario(key, stack):
        ctx = Context(
            stack, probes=8, trials=3, quick=True, start_stack=start_stack, progress=lambda text: None
        )
        return BY_KEY[key].run(ctx)

    return run_scenario
