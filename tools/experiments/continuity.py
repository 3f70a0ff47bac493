"""Scenarios 1-3: does the shopper's session survive the balancer, a restart, a crash?"""

import contextlib
import signal
import time

from tools.stack.children import StackError, wait_until

from .outcome import Outcome, Part, scenario

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


def kept_note(ctx, tally, lost_note):
    if tally.kept == tally.total:
        return f"The session lives in {ctx.facts.where}, so every server finds it."
    return lost_note


@scenario(1, "round_robin", "round robin", "Across N servers, do requests still see the login and the cart?")
def round_robin(ctx):
    stack = ctx.stack
    shopper = ctx.shopper_with_cart("rr", quantity=2)
    expected = shopper.cart_items
    probes = shopper.probes(ctx.probes)
    tally = shopper.tally(probes)
    checkout = shopper.checkout()
    if not ctx.facts.across_servers:
        note = LOCMEM_LOSS.format(processes=len(stack.servers) * stack.workers)
    elif not ctx.facts.across_hosts:
        note = FILE_CAVEAT
    else:
        note = kept_note(ctx, tally, "Unexpected for a shared store: see the failed probes in the details.")
    line = (
        f"{tally.kept}/{tally.total} probes saw the login and the cart (login {tally.logged_in}, "
        f"cart {tally.cart}, failed {tally.failed}); answered by {servers_text(tally.servers)}; "
        f"checkout: {checkout}"
    )
    details = {
        "username": shopper.username,
        "expected_cart_items": expected,
        "tally": tally,
        "checkout": checkout,
        "steps": shopper.steps,
        "probes": probes,
    }
    return Outcome([Part.of("probes that saw the login and the cart", tally)], line, note, details)


@contextlib.contextmanager
def isolated_stack(ctx):
    """The profile's stack; for locmem one process only, so that nothing but the restart loses it."""
    if ctx.facts.across_servers:
        yield ctx.stack
        return
    with ctx.other_stack(servers=1, workers=1) as stack:
        yield stack


@scenario(2, "restart", "restart all", "Every server restarted after login: is the session kept?")
def restart_all(ctx):
    with isolated_stack(ctx) as stack:
        shopper = ctx.shopper_with_cart("restart", quantity=2, stack=stack)
        before = shopper.tally(shopper.probes(max(3, ctx.probes // 4)))
        ctx.progress(f"restarting all {len(stack.servers)} servers, one at a time")
        old_pids = {server.name: server.pid for server in stack.servers}
        started = time.monotonic()
        stack.restart()
        seconds = time.monotonic() - started
        if any(server.pid == old_pids[server.name] for server in stack.servers):
            raise StackError("a server kept its pid across the restart")
        probes = shopper.probes(max(6, ctx.probes // 2))
    after = shopper.tally(probes)
    line = (
        f"before the restart {before.kept}/{before.total} kept; every server restarted in "
        f"{seconds:.1f} s; after it {after.kept}/{after.total} kept"
    )
    if not ctx.facts.across_servers:
        note = (
            "Run on 1 server x 1 worker, where locmem keeps the session, so that only the restart can "
            "lose it: a new process starts with empty memory."
        )
    else:
        note = kept_note(ctx, after, "Unexpected: the session did not outlive the servers; see the probes.")
    details = {
        "before": before,
        "after": after,
        "restart_seconds": round(seconds, 2),
        "old_pids": old_pids,
        "steps": shopper.steps,
        "probes_after": probes,
    }
    return Outcome([Part.of("probes after every server restarted", after)], line, note, details)


@scenario(3, "kill", "kill one", "One server SIGKILLed mid-visit: are requests served and the session kept?")
def kill_one(ctx):
    stack = ctx.stack
    victim = stack.servers[1] if len(stack.servers) > 1 else stack.servers[0]
    first, second = ctx.products(2)
    shopper = ctx.shopper_with_cart("kill", [first], quantity=2)
    before = shopper.tally(shopper.probes(max(3, ctx.probes // 3)))
    old_pids = {victim.pid, *victim.worker_pids}
    ctx.progress(f"SIGKILL to {victim.name} (pids {', '.join(map(str, sorted(old_pids)))})")
    killed_at = time.monotonic()
    stack.kill(victim.name, signal.SIGKILL)
    added = shopper.add(second, 1, required=False)
    add_status = shopper.steps[-1]["status"]
    probes = shopper.probes(ctx.probes - before.total)
    after = shopper.tally(probes)
    wait_until(lambda: victim.serving and victim.pid not in old_pids, 30, f"waiting for {victim.name}")
    back = time.monotonic() - killed_at
    # nginx tries a failed server again after a second: probe until the victim answers one.
    rejoin = []
    while len(rejoin) < 8 * len(stack.servers) and not (rejoin and rejoin[-1].server == victim.name):
        rejoin.append(shopper.probe())
        time.sleep(0.1)
    rejoined = shopper.tally(rejoin)
    served = after.total - after.failed + (0 < add_status < 500)
    line = (
        f"after the kill: add to cart {'OK' if added else f'FAILED (HTTP {add_status})'}, "
        f"{served}/{after.total + 1} requests served, {after.kept}/{after.total} probes kept; "
        f"{victim.name} serving again {back:.1f} s after the kill, answering through nginx after "
        f"{len(rejoin)} more requests ({rejoined.kept}/{rejoined.total} kept)"
    )
    note = (
        f"nginx passes a request that cannot reach {victim.name} to another server (connection "
        "refused is safe to retry, even for a POST), and the stack starts the killed server again. "
    )
    if not 0 < add_status < 500:
        note += (
            f"Yet the add-to-cart POST right after the kill failed (HTTP {add_status}): nginx had already "
            f"sent it to {victim.name} as it died, and never passes a request that was sent to one server "
            "on to another unless it is idempotent (a POST may have been processed). "
        )
    if not ctx.facts.across_servers:
        note += "The session was already lost to round robin (scenario 1); a crash also wipes what it held."
    else:
        note += kept_note(ctx, after, "")
    details = {
        "victim": victim.name,
        "before": before,
        "after": after,
        "add_after_kill_status": add_status,
        "seconds_until_back": round(back, 2),
        "rejoined": rejoined,
        "steps": shopper.steps,
        "probes_after": probes,
    }
    parts = [
        Part("requests served after the kill (probes and an add-to-cart POST)", served, after.total + 1),
        Part.of("probes after the kill that kept the session", after),
    ]
    return Outcome(parts, line, note, details)
