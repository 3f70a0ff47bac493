"""The lab's scenarios, and what each measured: a few "good out of total" counts, the details, and why.

Every count here was tallied from answers to requests the experiment really made.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from shop.core.profiles import REGISTRY


@dataclass(frozen=True)
class Scenario:
    number: int
    key: str
    title: str
    question: str
    run: Callable = field(repr=False)  # run(Context) -> Outcome
    skip: dict = field(default_factory=dict)  # profiles it does not apply to, and why


REGISTERED = []  # a Scenario for every function decorated with @scenario; scenarios.py orders them


def scenario(number, key, title, question, skip=None):
    """Make the decorated function scenario ``number`` of the matrix."""

    def register(run):
        REGISTERED.append(Scenario(number, key, title, question, run, skip or {}))
        return run

    return register


def only(applies, reason):
    """A scenario's ``skip``: every profile but those that ``applies(profile)`` to, for ``reason``."""
    return {name: reason for name, profile in REGISTRY.items() if not applies(profile)}


def shared(profile):
    """Whether a session one server made is read by the others: ``locmem``'s is not."""
    return profile.across_servers


def in_redis(profile):
    return profile.needs_redis


class NotApplicable(Exception):
    """The scenario does not apply to this profile or stack; the message says why."""


@dataclass
class Part:
    """``good`` of ``total`` requests (or trials) kept what they should have; ``label`` says what."""

    label: str
    good: int
    total: int

    @property
    def mark(self):
        if not self.total:
            return "?"
        return "✓" if self.good == self.total else "✗" if self.good == 0 else "◐"

    @classmethod
    def of(cls, label, tally):
        """The probes of a ``tools.client.Tally`` that kept the session, of all."""
        return cls(label, tally.kept, tally.total)


@dataclass
class Outcome:
    """What a scenario returns: counts for the matrix, one line for people, details for the record."""

    parts: list[Part]
    line: str
    note: str = ""
    # JSON-ready, but for the dataclasses in it (Tally, Probe), which Cell.as_json turns into dicts.
    details: dict = field(default_factory=dict)

    @property
    def counts(self):
        """[(good, total), ...], one pair per part."""
        return [(part.good, part.total) for part in self.parts]


@dataclass
class Cell:
    """One profile under one scenario: "measured", "n/a" (``note`` says why) or "error"."""

    profile: str
    scenario: int
    status: str
    parts: list[Part] = field(default_factory=list)
    line: str = ""
    note: str = ""
    details: dict = field(default_factory=dict)
    stacks: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def summary(self):
        """The matrix cell: one mark and count per part, "n/a", or "error"."""
        if self.status != "measured":
            return self.status
        return " ".join(f"{part.mark}{part.good}/{part.total}" for part in self.parts)

    @property
    def verdict(self):
        """kept (every part all good), lost (every part none), partial, n/a or error."""
        if self.status != "measured":
            return self.status
        marks = {part.mark for part in self.parts}
        return "kept" if marks == {"✓"} else "lost" if marks == {"✗"} else "partial"

    def as_json(self):
        return asdict(self) | {"summary": self.summary, "verdict": self.verdict}
