"""Scenarios 12 and 13: the stack switches its session profile, and rotates its SECRET_KEY, while
shoppers keep shopping; each beside the naive way to do the same (a restart with the new setting)."""

import itertools
import threading
import time
from dataclasses import asdict, dataclass, field, fields

from shop.core.profiles import profile
from tools.client import Browser
from tools.stack.children import find_binary
from tools.stack.keys import Key
from tools.stack.stack import required_programs

from .outcome import NotApplicable, Outcome, Part, only, scenario, shared

# The switches of issue 11, as a ring: a stack of one of these profiles goes round it and back.
# Both cookie profiles are on it, side by side: one switch goes from a cookie to a cookie.
RING = ("db", "cache", "signed_cookies", "encrypted_cookies", "cached_db")
PAUSE = 0.05  # seconds between one shopper's requests: a few shoppers, not a load test
SETTLE = 1.0  # seconds the shoppers go on after the change, so that every server answers them


def switch_chain(name, quick=False):
    """The profiles a stack of profile ``name`` switches to in turn, ending where it began."""
    if quick:  # across the line between a store and the cookie, and back: a key becomes a cookie, and back
        in_cookie = profile(name).in_cookie
        return [next(p for p in RING if profile(p).in_cookie != in_cookie), name]
    return [*(p for p in RING if p != name), name]


@dataclass
class Record:
    """What one shopper saw while shopping; each count is of answers it really got."""

    username: str
    requests: int = 0  # probes and cart writes
    errors: int = 0  # no answer, or a 5xx
    anonymous: int = 0  # probes that no longer saw the login
    stale: int = 0  # probes that saw the login with another cart than the shopper was told
    kept: int = 0  # probes that saw the login and the cart
    probes: int = 0
    flip_flops: int = 0  # probes that saw the session again after one that had not
    logged_out: bool = False  # a logout for good: the last probe, after the change, did not see the login
    lines_lost: int = 0  # at the end: lines the shopper was told are in the cart, missing or changed
    lines_back: int = 0  # at the end: lines in the cart the shopper had removed or never added
    answered_by: dict = field(default_factory=dict)  # "server profile key-id": probes it answered
    failures: list = field(default_factory=list)  # each error: the step, its status (0: no answer) and why


class Shopping:
    """Shoppers shopping in threads for the length of a ``with`` block, and ``SETTLE`` seconds more:
    each probes, and every fourth request adds the next product (or removes its oldest line, from
    four lines on); every answer is checked against what the shopper was told."""

    def __init__(self, shoppers, products, writes=True):
        self.shoppers, self.products, self.writes = shoppers, products, writes
        self.records = [Record(shopper.username) for shopper in shoppers]
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._shop, args=pair, daemon=True)
            for pair in zip(shoppers, self.records, strict=True)
        ]

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, exc_type, *exc_info):
        if exc_type is None:
            time.sleep(SETTLE)
        self._stop.set()
        for thread in self._threads:
            thread.join(60)
        if exc_type is not None:  # the change failed: no last look, which could hide why
            return
        for shopper, record in zip(self.shoppers, self.records, strict=True):
            record.logged_out = not shopper.logged_in(shopper.probe())
            lines = shopper.cart_lines()
            record.lines_lost = sum(lines.get(pid) != quantity for pid, quantity in shopper.lines.items())
            record.lines_back = len(set(lines) - set(shopper.lines))

    def _shop(self, shopper, record):
        products, seen = itertools.cycle(self.products), True
        for step in itertools.count():
            if self._stop.is_set():
                return
            record.requests += 1
            if self.writes and step % 4 == 3:
                self._write(shopper, record, products)
            else:
                seen = self._probe(shopper, record, seen)
            time.sleep(PAUSE)

    def _write(self, shopper, record, products):
        if len(shopper.lines) >= 4:
            oldest = next(iter(shopper.lines))
            done = shopper.remove(next(p for p in self.products if p[1] == oldest), required=False)
        else:
            product = next(p for p in products if p[1] not in shopper.lines)
            done = shopper.add(product, 1, required=False)
        step = shopper.steps[-1]
        if not done and not 0 < step["status"] < 500:
            record.errors += 1
            record.failures.append(step)

    def _probe(self, shopper, record, seen_before):
        probe = shopper.probe()
        record.probes += 1
        if not 0 < probe.status < 500:
            record.errors += 1
            record.failures.append({"step": "probe", "status": probe.status, "error": probe.error})
            return seen_before
        who = f"{probe.server} {probe.profile} {probe.key_id}"
        record.answered_by[who] = record.answered_by.get(who, 0) + 1
        kept = shopper.kept(probe)
        record.kept += kept
        if not shopper.logged_in(probe):
            record.anonymous += 1
        elif not kept:
            record.stale += 1
        record.flip_flops += kept and not seen_before
        return kept

    def totals(self):
        # Every count of a Record (its int fields), summed over the shoppers.
        summed = [f.name for f in fields(Record) if f.type is int]
        counts = {name: sum(getattr(r, name) for r in self.records) for name in summed}
        counts["logouts"] = sum(r.logged_out for r in self.records)
        counts["shoppers"] = len(self.records)
        return counts

    def as_json(self):
        return {"totals": self.totals(), "shoppers": [asdict(record) for record in self.records]}


def every_server(stack):
    """{server: (profile, key id)}, each server asked directly (not through nginx)."""
    answers = {}
    for server in stack.servers:
        with Browser(f"http://{server.address}:{server.port}") as browser:
            probe = browser.probe()
        answers[server.name] = (probe["profile"], probe["key_id"])
    return answers


def shoppers_with_carts(ctx, label, products):
    """Three new shoppers, signed up, each with a cart of three lines."""
    return [ctx.shopper_with_cart(f"{label}{k}", products[:3]) for k in range(3)]


def text(totals):
    return (
        f"{totals['requests']} requests, {totals['requests'] - totals['errors']} served, "
        f"{totals['logouts']} of {totals['shoppers']} shoppers logged out, {totals['lines_lost']} cart lines "
        f"lost, {totals['errors']} errors"
    )


@scenario(
    12,
    "switch",
    "switch profile",
    f"The running stack switched to other profiles and back while shoppers shop ({' -> '.join(RING)} -> "
    f"{RING[0]}): logins and carts kept? And a restart with the new profile?",
    only(
        lambda profile: profile.migratable,
        "this profile's sessions cannot be moved by anything: each lives in one worker's memory, "
        "and a switch away from it restarts every worker (runstack says so)",
    ),
)
def switch(ctx):
    stack = ctx.stack
    chain = switch_chain(ctx.profile, ctx.quick)
    missing = [program for program in required_programs(chain) if not find_binary(program)]
    if missing:
        raise NotApplicable(f"the switches need {', '.join(missing)}, which is not installed")
    products = ctx.products(8)
    switches = []
    with Shopping(shoppers_with_carts(ctx, "sw", products), products) as shopping:
        for target in chain:
            ctx.progress(f"switching {stack.profile} -> {target} while 3 shoppers shop")
            started, source = time.monotonic(), stack.profile
            stack.switch_profile(target, progress=lambda line: None)
            answers = every_server(stack)
            switches.append(
                {
                    "from": source,
                    "to": target,
                    "seconds": round(time.monotonic() - started, 1),
                    "servers": answers,
                    "every_server_on_it": {profile for profile, _ in answers.values()} == {target},
                }
            )
    naive_target = chain[0]
    ctx.progress(f"the naive switch: every server restarted with profile {naive_target}")
    with Shopping(shoppers_with_carts(ctx, "naive", products), products) as naive:
        stack.restart(env=stack.session_env(naive_target))
    ctx.progress(f"back to {stack.profile} (restarted again)")
    stack.restart(env=stack.session_env(stack.profile, stack.fallback_profiles()))

    two, one = shopping.totals(), naive.totals()
    route = " -> ".join([ctx.profile, *chain])
    named = all(step["every_server_on_it"] for step in switches)
    line = (
        f"two-phase {route} in {sum(s['seconds'] for s in switches):.0f} s: {text(two)}; every server named "
        f"the new profile after each switch: {'yes' if named else 'NO'}. Naive {ctx.profile} -> "
        f"{naive_target} (a restart with it): {text(one)}"
    )
    note = (
        "Two-phase: first every server, one at a time, also reads the new store while still writing the "
        "old one; then every server, one at a time, writes the new store and reads the old one too. A "
        "session found in the other store moves, so it lives in one place and every server finds the "
        "copy written last, whichever server answered before. The naive switch restarts every server "
        "with the new profile: a server on the new profile does not look in the old store, so the "
        "shopper is anonymous there, and the old servers do not see what the new ones wrote."
    )
    if one["logouts"] == 0:
        note += " Measured here: the naive switch lost nothing (unexpected; see the details)."
    details = {"route": route, "switches": switches, "two_phase": shopping.as_json()}
    details["naive"] = naive.as_json()
    served = two["requests"] - two["errors"]
    parts = [
        Part("two-phase switches: requests served without error", served, two["requests"]),
        Part("two-phase switches: probes that kept login and cart", two["kept"], two["probes"]),
        Part("naive switch: probes that kept login and cart", one["kept"], one["probes"]),
    ]
    return Outcome(parts, line, note, details)


# What a server still on the old key makes of a session that a server on the new key wrote.
NAIVE_ROTATION = (
    dict.fromkeys(
        ("db", "file"),
        "Under db and file the session data is signed: the old-key server reads an empty session and "
        "answers anonymous, and the next new-key server signs the shopper in again (a flip-flop); a cart "
        "write answered anonymously replaces the session with an anonymous one, a logout for good.",
    )
    | dict.fromkeys(
        ("cache", "cached_db"),
        "Under cache and cached_db the session data is not signed, but the login's hash is: a new-key "
        "server renews it with the new key (the old one verifies it as a fallback), which an old-key server "
        "cannot verify, so it flushes the session: a logout for good.",
    )
    | {
        "signed_cookies": "Under signed_cookies the cookie is the session: an old-key server cannot verify "
        "it and answers with an empty session's cookie, a logout for good.",
        "encrypted_cookies": "Under encrypted_cookies the cookie is the session, encrypted with a key "
        "derived from the new SECRET_KEY: an old-key server cannot open it and answers with an empty "
        "session's cookie, a logout for good.",
    }
)


def naive_rotation(stack):
    """The rolling rotation without a first phase: server by server, the new key signs at once (the
    old one accepted), while the servers not yet restarted know only the old key."""
    old, new = stack.keys.current(), Key.new()
    for server in stack.servers:
        stack.restart(server.name, env=stack.key_env(new, [old]))


def rotation_text(totals):
    return (
        f"{totals['logouts']} of {totals['shoppers']} shoppers logged out, {totals['flip_flops']} "
        f"flip-flops, {totals['kept']}/{totals['probes']} probes kept, {totals['errors']} errors"
    )


@scenario(
    13,
    "rolling_key",
    "rolling key",
    "The SECRET_KEY rotated server by server while shoppers shop: two-phase against naive "
    "(the new key signing on one server before the others know it): logouts and flip-flops?",
    only(
        shared, "this profile already loses sessions across servers and on every restart (scenarios 1 and 2)"
    ),
)
def rolling_key(ctx):
    stack = ctx.stack
    if stack.base_env.get("SECRET_KEY"):
        raise NotApplicable("SECRET_KEY comes from the environment: the stack does not rotate it")
    own = stack.own_key_env()
    if any(server.child.env.get("SECRET_KEY") != own["SECRET_KEY"] for server in stack.servers):
        ctx.progress("putting every server back on the stack's own key (scenario 5 changes it)")
        stack.restart(env=own)
    products = ctx.products(8)
    before = every_server(stack)
    ctx.progress("two-phase rotation while 3 shoppers shop")
    with Shopping(shoppers_with_carts(ctx, "key", products), products) as two_phase:
        stack.rotate_secret_key(progress=lambda line: None)
    after = every_server(stack)
    ctx.progress("naive rolling rotation while 3 other shoppers shop")
    with Shopping(shoppers_with_carts(ctx, "naivekey", products), products) as naive:
        naive_rotation(stack)
    ctx.progress("every server back on the stack's own key")
    stack.restart(env=stack.own_key_env())

    two, one = two_phase.totals(), naive.totals()
    ids = sorted({key_id for _, key_id in before.values()}), sorted({key_id for _, key_id in after.values()})
    renewed = not set(ids[0]) & set(ids[1])
    line = (
        f"two-phase (key id {', '.join(ids[0])} -> {', '.join(ids[1])} on every server: "
        f"{'yes' if renewed and len(ids[1]) == 1 else 'NO'}): {rotation_text(two)}; "
        f"naive: {rotation_text(one)}"
    )
    note = (
        "Two-phase: every server first accepts the new key as a fallback, still signing with the old one; "
        "only then does every server sign with the new key, accepting the old one. Naive: a server signs "
        "with the new key while the others know only the old one, and what it signs they cannot read. "
    )
    note += NAIVE_ROTATION.get(ctx.profile, "")
    details = {"key_ids_before": before, "key_ids_after": after, "two_phase": two_phase.as_json()}
    details["naive"] = naive.as_json()
    parts = [
        Part("two-phase rotation: probes that kept the session", two["kept"], two["probes"]),
        Part("naive rolling rotation: probes that kept the session", one["kept"], one["probes"]),
    ]
    return Outcome(parts, line, note, details)
