"""The session lab's scenarios, in the order they run for a profile: 1-7 on one machine, 8-11 on
simulated hosts (network namespaces; they need root), 12-13 live operations on one machine. Each is
a function of a Context, registered with ``@scenario`` where it is defined."""

from . import continuity, hosts, live_ops, races, sticky, stores  # noqa: F401 (for their @scenario functions)
from .outcome import REGISTERED

SCENARIOS = tuple(sorted(REGISTERED, key=lambda scenario: scenario.number))
BY_KEY = {scenario.key: scenario for scenario in SCENARIOS}


def select(spec):
    """Scenarios named in ``spec``: numbers or keys, comma-separated ("1,3" or "kill,race"); "all"."""
    if spec in (None, "", "all"):
        return list(SCENARIOS)
    names = BY_KEY | {str(scenario.number): scenario for scenario in SCENARIOS}
    chosen = {}  # number: scenario
    for item in (part.strip() for part in spec.split(",") if part.strip()):
        if item not in names:
            choices = ", ".join(f"{s.number}/{s.key}" for s in SCENARIOS)
            raise ValueError(f"unknown scenario {item!r}; choose from {choices}")
        chosen[names[item].number] = names[item]
    return [chosen[number] for number in sorted(chosen)]
