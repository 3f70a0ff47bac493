"""The session lab's scenarios, in the order they run for a profile: 1-7 on one machine, 8-11 on
simulated hosts (network namespaces; they need root), 12-13 live operations on one machine."""

from collections.abc import Callable
from dataclasses import dataclass, field

from shop.stack.stack import PROFILES, REDIS_PROFILES

from .continuity import kill_one, restart_all, round_robin
from .hosts import host_cut_off, hosts, redis_failover, store_cut_off
from .live_ops import rolling_key, switch
from .races import concurrent_writes
from .sticky import sticky
from .stores import redis_restart, secret_keys


@dataclass(frozen=True)
class Scenario:
    number: int
    key: str
    title: str
    question: str
    run: Callable = field(repr=False)  # run(Context) -> Outcome
    # Profiles it does not apply to, and why.
    skip: dict = field(default_factory=dict)

    def not_applicable(self, profile):
        return self.skip.get(profile)


def _only(profiles, reason):
    return {profile: reason for profile in PROFILES if profile not in profiles}


SCENARIOS = (
    Scenario(
        1,
        "round_robin",
        "round robin",
        "Across N servers, do requests still see the login and the cart?",
        round_robin,
    ),
    Scenario(
        2, "restart", "restart all", "Every server restarted after login: is the session kept?", restart_all
    ),
    Scenario(
        3,
        "kill",
        "kill one",
        "One server SIGKILLed mid-visit: are requests served and the session kept?",
        kill_one,
    ),
    Scenario(
        4,
        "redis",
        "Redis restart",
        "Redis restarted (with and without its data): is the session kept?",
        redis_restart,
        _only(REDIS_PROFILES, "no Redis holds this profile's sessions"),
    ),
    Scenario(
        5,
        "secret_key",
        "SECRET_KEYs",
        "A server with another SECRET_KEY: what breaks? Does SECRET_KEY_FALLBACKS make rotation safe?",
        secret_keys,
        {
            "locmem": "locmem already loses sessions across servers and on every restart "
            "(scenarios 1 and 2); a key change cannot lose more"
        },
    ),
    Scenario(
        6,
        "sticky",
        "sticky locmem",
        "locmem behind ip_hash / sticky_cookie: fixed? What happens at login and on restart?",
        sticky,
        _only(
            {"locmem"},
            "sticky balancing is a workaround for per-process sessions; "
            "this profile shares them (scenario 1)",
        ),
    ),
    Scenario(
        7,
        "race",
        "concurrent cart",
        "Twenty cart writes of one session at once: are updates lost?",
        concurrent_writes,
    ),
    Scenario(
        8,
        "hosts",
        "hosts",
        "Servers on separate hosts, round robin: which engines still share the session?",
        hosts,
    ),
    Scenario(
        9,
        "host_cut",
        "host cut off",
        "One server's host cut off the network mid-visit: are GETs answered and sessions kept?",
        host_cut_off,
    ),
    Scenario(
        10,
        "store_cut",
        "store cut off",
        "Redis unreachable from one server only: what do shoppers see, and what does the stack do?",
        store_cut_off,
        _only(
            REDIS_PROFILES, "no store across the network holds this profile's sessions (db: SQLite is a file)"
        ),
    ),
    Scenario(
        11,
        "failover",
        "Redis failover",
        "The Redis primary SIGKILLed while shoppers shop (Sentinel): what is unavailable, what is lost?",
        redis_failover,
        _only(REDIS_PROFILES, "no Redis holds this profile's sessions"),
    ),
    Scenario(
        12,
        "switch",
        "switch profile",
        "The running stack switched to other profiles and back while shoppers shop (db -> cache -> "
        "signed_cookies -> cached_db -> db): logins and carts kept? And a restart with the new profile?",
        switch,
        {
            "locmem": "locmem sessions cannot be moved by anything: each lives in one worker's memory, "
            "and a switch away from it restarts every worker (runstack says so)"
        },
    ),
    Scenario(
        13,
        "rolling_key",
        "rolling key",
        "The SECRET_KEY rotated server by server while shoppers shop: two-phase against naive "
        "(the new key signing on one server before the others know it): logouts and flip-flops?",
        rolling_key,
        {"locmem": "locmem already loses sessions across servers and on every restart (scenarios 1 and 2)"},
    ),
)
BY_KEY = {scenario.key: scenario for scenario in SCENARIOS}


def select(spec):
    """Scenarios named in ``spec``: numbers or keys, comma-separated ("1,3" or "kill,race"); "all"."""
    if spec in (None, "", "all"):
        return list(SCENARIOS)
    chosen = []
    for item in (part.strip() for part in spec.split(",") if part.strip()):
        if item.isdigit() and 1 <= int(item) <= len(SCENARIOS):
            scenario = SCENARIOS[int(item) - 1]
        elif item in BY_KEY:
            scenario = BY_KEY[item]
        else:
            names = ", ".join(f"{s.number}/{s.key}" for s in SCENARIOS)
            raise ValueError(f"unknown scenario {item!r}; choose from {names}")
        if scenario not in chosen:
            chosen.append(scenario)
    return sorted(chosen, key=lambda scenario: scenario.number)
