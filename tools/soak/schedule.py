"""The seeded plan of faults: the same seed (and the same kinds and shape) gives the same plan.

Every kind comes once, in a shuffled order, before any comes again, and every kind asked for
comes at least once, however short the duration; after that, faults come while their planned time
is within the duration. Each is planned ``every`` (MIN, MAX) seconds after the one before, and a
held fault lasts ``HOLD`` seconds. A fault whose time comes while the one before it is still running
(a rolling restart takes a while) starts when that one ends: the plan says what comes in which
order, the history says when it came.
"""

import random
from dataclasses import asdict, dataclass

HOLD = (2.0, 4.0)  # seconds a held fault lasts (a pause, a partition, an outage)


@dataclass(frozen=True)
class Planned:
    at: float  # seconds after the shoppers started
    kind: str
    target: str | None
    hold: float

    def as_json(self):
        return asdict(self)


def parse_every(text):
    """ "5-9" -> (5.0, 9.0); ValueError for anything else."""
    low, _, high = text.partition("-")
    every = (float(low), float(high or low))
    if not 0 < every[0] <= every[1]:
        raise ValueError(f"--every wants MIN-MAX seconds with 0 < MIN <= MAX, not {text!r}")
    return every


def plan(seed, kinds, targets, duration, every):
    """Every kind once, then more within ``duration`` seconds; ``targets``: {kind: its targets}."""
    rng = random.Random(seed)
    planned, order, at = [], [], 0.0
    while kinds:
        at += rng.uniform(*every)
        if at >= duration and len(planned) >= len(kinds):
            return planned
        if not order:
            order = rng.sample(kinds, len(kinds))
        kind = order.pop(0)
        target = rng.choice(targets[kind])
        planned.append(Planned(round(at, 2), kind, target, round(rng.uniform(*HOLD), 2)))
    return planned
