"""The seeded plan of faults: the same seed (and the same kinds and shape) gives the same plan.

Every kind comes once, in a shuffled order, before any comes again, and every kind asked for
comes at least once, however short the duration; after that, faults come while the gaps so far
add up to less than the duration. Each fault starts a gap of ``every`` (MIN, MAX) seconds after the
one before it ended (a rolling restart takes a while; a kill is over at once, and the stack may
not have healed by the next), and a pause, partition, outage or stop lasts ``HOLD`` seconds. The
plan says what comes, in which order and after which gap; the history says when it came and how
long it took.
"""

import random
from dataclasses import asdict, dataclass

HOLD = (2.0, 4.0)  # seconds a held fault lasts (a pause, a partition, an outage)


@dataclass(frozen=True)
class Planned:
    gap: float  # seconds after the fault before it ended (or after the shoppers started)
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
    """Every kind once, then more while the gaps fit in ``duration`` seconds; ``targets``: {kind:
    its possible targets}."""
    rng = random.Random(seed)
    planned, order, gaps = [], [], 0.0
    while kinds:
        gap = rng.uniform(*every)
        gaps += gap
        if gaps >= duration and len(planned) >= len(kinds):
            return planned
        if not order:
            order = rng.sample(kinds, len(kinds))
        kind = order.pop(0)
        target = rng.choice(targets[kind])
        planned.append(Planned(round(gap, 2), kind, target, round(rng.uniform(*HOLD), 2)))
    return planned
