"""Scenarios 1-3: does the shopper's session survive the balancer, a restart, a crash?"""

import contextlib
import signal
import time

from .outcome import LabError, Outcome, Part
from .shopper import probe_log

# Why a profile keeps (or loses) the session, for the notes. The lab is the one place that
# knows engines by name: it exists to compare them.
WHERE = {
    "locmem": "each worker process's own memory",
    "file": "files in one folder on this host",
    "db": "the database every server uses",
    "cache": "the Redis every server uses",
    "cached_db": "the database, read through the shared Redis",
    "signed_cookies": "the browser's cookie, signed with the SECRET_KEY every server shares",
}
FILE_CAVEAT = (
    "Surprising? The file engine only looks shared: every server runs on this one host and reads "
    "the same folder. Servers on separate hosts would each have their own folder, and the file "
    "engine would lose sessions exactly like locmem."
)
LOCMEM_LOSS = (
    "Each of the {processes} worker processes keeps sessions in its own memory. The first request "
    "that reaches another process finds no session, answers anonymous and tells the browser to "
    "delete the cookie, so from then on even the process that holds the session has lost the shopper."
)


def servers_text(servers):
    return ", ".join(f"{name} {count}" for name, count in servers.items())


def round_robin(ctx):
    """1. Sign up, add to cart, then probe: how many requests still see the login and the cart?"""
    stack = ctx.stack
    shopper = ctx.shopper(stack, "rr")
    shopper.sign_up()
    shopper.add(ctx.products(stack)[0], 2)
    expected = shopper.cart_items
    probes = shopper.probes(ctx.probes)
    tally = shopper.tally(probes)
    checkout = shopper.checkout()
    processes = len(stack.servers) * stack.workers
    if ctx.profile == "locmem":
        note = (
            LOCMEM_LOSS.format(processes=processes)
            + " (Scenario 2 runs locmem on 1 server x 1 worker, where it does keep the session.)"
            if tally.kept < tally.total
            else ("Kept: a single worker process served every request, so its memory was the only store.")
        )
    elif ctx.profile == "file":
        note = FILE_CAVEAT
    elif tally.kept == tally.total:
        note = f"Every server reads the session from {WHERE[ctx.profile]}."
    else:
        note = f"Unexpected for a shared store ({WHERE[ctx.profile]}): see the failed probes in the details."
    line = (
        f"{tally.kept}/{tally.total} probes saw the login and the cart (login {tally.logged_in}, "
        f"cart {tally.cart}, failed {tally.failed}); answered by {servers_text(tally.servers)}; "
        f"checkout: {checkout}"
    )
    return Outcome(
        [Part("probes that saw the login and the cart", tally.kept, tally.total)],
        line,
        note,
        {
            "username": shopper.username,
            "expected_cart_items": expected,
            "tally": tally.as_json(),
            "checkout": checkout,
            "steps": shopper.steps,
            "probes": probe_log(probes),
        },
    )


@contextlib.contextmanager
def isolated_stack(ctx):
    """The profile's stack; for locmem one process only, so that nothing but the event loses it."""
    if ctx.profile != "locmem":
        yield ctx.stack
        return
    with ctx.special_stack(servers=1, workers=1) as stack:
        yield stack


def restart_all(ctx):
    """2. Sign up and fill the cart, restart every server, then probe: is the session still there?"""
    with isolated_stack(ctx) as stack:
        shopper = ctx.shopper(stack, "restart")
        shopper.sign_up()
        shopper.add(ctx.products(stack)[0], 2)
        before = shopper.tally(shopper.probes(max(3, ctx.probes // 4)))
        ctx.progress(f"restarting all {len(stack.servers)} servers, one at a time")
        started = time.monotonic()
        old_pids = {server.name: server.pid for server in stack.servers}
        stack.restart()
        seconds = time.monotonic() - started
        if any(server.pid == old_pids[server.name] for server in stack.servers):
            raise LabError("a server kept its pid across the restart")
        probes = shopper.probes(max(6, ctx.probes // 2))
        after = shopper.tally(probes)
    line = (
        f"before the restart {before.kept}/{before.total} kept; every server restarted in "
        f"{seconds:.1f} s; after it {after.kept}/{after.total} kept"
    )
    if ctx.profile == "locmem":
        note = (
            "Run on 1 server x 1 worker, where locmem keeps the session, so that only the restart can "
            "lose it: a new process starts with empty memory."
        )
    elif after.kept == after.total:
        note = f"The session lives in {WHERE[ctx.profile]}: it outlives the server processes."
        if ctx.profile == "signed_cookies":
            note += (
                " The SECRET_KEY is kept in the run folder, so the restarted servers verify the old cookie."
            )
    else:
        note = "Unexpected: the session did not outlive the servers; see the probes in the details."
    return Outcome(
        [Part("probes after every server restarted", after.kept, after.total)],
        line,
        note,
        {
            "before": before.as_json(),
            "after": after.as_json(),
            "restart_seconds": round(seconds, 2),
            "old_pids": old_pids,
            "steps": shopper.steps,
            "probes_after": probe_log(probes),
        },
    )


def rejoin_probes(shopper, name, limit):
    """Probes until server ``name`` answers one (nginx retries a failed server after 1 s)."""
    probes = []
    while len(probes) < limit and not (probes and probes[-1].server == name):
        probes.append(shopper.probe())
        time.sleep(0.1)
    return probes


def kill_one(ctx):
    """3. SIGKILL one server mid-visit: are requests still served, and is the session kept?"""
    stack = ctx.stack
    victim = stack.servers[1] if len(stack.servers) > 1 else stack.servers[0]
    first, second = ctx.products(stack)[:2]
    shopper = ctx.shopper(stack, "kill")
    shopper.sign_up()
    shopper.add(first, 2)
    before_count = max(3, ctx.probes // 3)
    before = shopper.tally(shopper.probes(before_count))
    old_pids = {victim.pid, *victim.worker_pids}
    ctx.progress(f"SIGKILL to {victim.name} (pids {', '.join(map(str, sorted(old_pids)))})")
    killed_at = time.monotonic()
    stack.kill(victim.name, signal.SIGKILL)
    added = shopper.add(second, 1, required=False)
    add_step = shopper.steps[-1]
    probes = shopper.probes(ctx.probes - before_count)
    after = shopper.tally(probes)
    deadline = killed_at + 30
    while not (victim.serving and victim.pid not in old_pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    back = time.monotonic() - killed_at if victim.serving and victim.pid not in old_pids else None
    rejoin = rejoin_probes(shopper, victim.name, 8 * len(stack.servers)) if back else []
    rejoined = shopper.tally(rejoin)
    served = after.total - after.failed + (0 < add_step["status"] < 500)
    add_text = "OK" if added else f"FAILED (HTTP {add_step['status']})"
    if back and rejoin and rejoin[-1].server == victim.name:
        back_text = (
            f"{victim.name} serving again {back:.1f} s after the kill, and answering through nginx "
            f"after {len(rejoin)} more requests ({rejoined.kept}/{rejoined.total} kept)"
        )
    elif back:
        back_text = (
            f"{victim.name} serving again {back:.1f} s after the kill, but not yet answering via nginx"
        )
    else:
        back_text = f"{victim.name} not serving again within 30 s"
    line = (
        f"after the kill: add to cart {add_text}, {served}/{after.total + 1} requests served, "
        f"{after.kept}/{after.total} probes kept; {back_text}"
    )
    note = (
        f"nginx passes a request that cannot reach {victim.name} to another server (connection "
        "refused is safe to retry, even for a POST), and the stack starts the killed server again. "
    )
    if not 0 < add_step["status"] < 500:
        note += (
            f"Yet the add-to-cart POST right after the kill failed (HTTP {add_step['status']}): nginx had "
            f"already sent it to {victim.name} as it died, and it never passes a request that was sent to "
            "another server unless it is idempotent (a POST may have been processed), so the shopper sees "
            "an error and must try again. "
        )
    if ctx.profile == "locmem":
        note += (
            "The session was already lost to round robin (scenario 1); a crash also wipes the sessions "
            "the dead server held."
        )
    elif after.kept == after.total:
        note += f"The session lives in {WHERE[ctx.profile]}, so losing a server loses no session."
    return Outcome(
        [
            Part("requests served after the kill (probes and an add-to-cart POST)", served, after.total + 1),
            Part("probes after the kill that kept the session", after.kept, after.total),
        ],
        line,
        note,
        {
            "victim": victim.name,
            "before": before.as_json(),
            "after": after.as_json(),
            "add_after_kill": add_step,
            "seconds_until_back": round(back, 2) if back else None,
            "rejoined": rejoined.as_json(),
            "steps": shopper.steps,
            "probes_after": probe_log(probes),
        },
    )
