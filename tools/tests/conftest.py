"""Fixtures for the tools' tests: a lab scenario run quickly."""

import pytest

from tools.experiments.context import Context
from tools.experiments.scenarios import BY_KEY


@pytest.fixture
def run(start_stack):
    """run(key, stack) -> the scenario's Outcome, measured in its quick form."""

    def run_scenario(key, stack):
        ctx = Context(
            stack, probes=8, trials=3, quick=True, start_stack=start_stack, progress=lambda text: None
        )
        return BY_KEY[key].run(ctx)

    return run_scenario
