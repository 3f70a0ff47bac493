"""Scenarios 8-11, on servers and stores that each run on a simulated host (``runstack --hosts``):
sessions across hosts, a host cut off, a store cut off from one server, and a Redis failover."""

import contextlib
import dataclasses
import itertools
import signal
import threading
import time

from tools.stack.children import wait_until
from tools.stack.hosts import can_make_hosts
from tools.stack.services import RedisServer

from .continuity import LOCMEM_LOSS, round_robin
from .outcome import NotApplicable, Outcome, Part, in_redis, only, scenario

FAILOVER_WAIT = 30  # seconds: Sentinel fails over in a few (down-after 1 s, failover-timeout 3 s)
FILE_ON_HOSTS = (
    "Each host keeps the session files in a folder of its own: a request that reaches another host "
    "finds no file, answers anonymous and tells the browser to drop the cookie. Across hosts the file "
    "engine loses sessions exactly like locmem loses them across processes (measured, not claimed)."
)


def on_hosts(ctx, **shape):
    """A stack of this profile with every server and store on a host of its own: the context's own
    when it is one of that shape, else a new one for the scenario."""
    if not can_make_hosts():
        raise NotApplicable("needs root (or CAP_NET_ADMIN) for the hosts' network namespaces")
    stack = ctx.stack
    if (
        stack.network
        and "env" not in shape
        and all(getattr(stack, key) == value for key, value in shape.items())
    ):
        return contextlib.nullcontext(stack)
    return ctx.other_stack(hosts=True, **shape)


@scenario(
    8, "hosts", "hosts", "Servers on separate hosts, round robin: which engines still share the session?"
)
def hosts(ctx):
    with on_hosts(ctx) as stack:
        outcome = round_robin(dataclasses.replace(ctx, stack=stack))
    seen = sorted({probe.host for probe in outcome.details["probes"] if probe.host})
    outcome.line += f"; hosts that answered: {', '.join(seen)}"
    if ctx.facts.across_hosts:
        outcome.note = f"The session lives in {ctx.facts.where}, reached over the network from every host."
    elif ctx.facts.across_servers:
        outcome.note = FILE_ON_HOSTS
    return outcome


@scenario(
    9,
    "host_cut",
    "host cut off",
    "One server's host cut off the network mid-visit: are GETs answered and sessions kept?",
)
def host_cut_off(ctx):
    sticky = not ctx.facts.across_servers  # locmem keeps sessions only behind sticky balancing, 1 worker
    shape = {"balance": "sticky_cookie", "workers": 1} if sticky else {}
    with on_hosts(ctx, **shape) as stack:
        products = ctx.products(stack=stack)
        shoppers = [ctx.shopper_with_cart(f"cut{k}", products, stack=stack) for k in range(3)]
        homes = {shopper.username: shopper.probe().server for shopper in shoppers}
        victim = stack.servers[1].name
        ctx.progress(f"cutting {stack.host(victim).name} ({victim}) off the network")
        stack.partition(victim)
        try:
            probes = {shopper.username: shopper.probes(max(4, ctx.probes // 3)) for shopper in shoppers}
        finally:
            stack.partition(victim, healed=True)
    every = list(itertools.chain.from_iterable(probes.values()))
    answered = sum(0 < probe.status < 500 for probe in every)
    kept = sum(shopper.kept(probe) for shopper in shoppers for probe in probes[shopper.username])
    pinned = [name for name, server in homes.items() if server == victim]
    line = (
        f"{victim}'s host cut off: {answered}/{len(every)} GETs answered, {kept}/{len(every)} probes kept "
        f"the session; shoppers whose requests went to {victim} before: {len(pinned)}"
    )
    note = (
        f"nginx cannot connect to {victim}'s host, waits its 2 s connect timeout once, and passes the GET "
        "to another server (and leaves the cut-off one out for a second at a time). "
    )
    if sticky:
        note += (
            "Behind sticky balancing the shoppers pinned to that server are re-hashed to another one, "
            "whose memory never held their session: " + LOCMEM_LOSS.split(". ")[0].lower() + "."
        )
    else:
        note += f"The session lives in {ctx.facts.where}: no shopper is logged out."
    details = {"victim": victim, "homes": homes, "probes": probes}
    parts = [
        Part("GETs answered while a server's host was cut off", answered, len(every)),
        Part("probes that kept the session", kept, len(every)),
    ]
    return Outcome(parts, line, note, details)


@scenario(
    10,
    "store_cut",
    "store cut off",
    "Redis unreachable from one server only: what do shoppers see, and what does the stack do?",
    only(in_redis, "no store across the network holds this profile's sessions (db: SQLite is a file)"),
)
def store_cut_off(ctx):
    with on_hosts(ctx) as stack:
        shopper = ctx.shopper_with_cart("storecut", stack=stack)
        victim, redis = stack.servers[1], stack.stores[0]
        ctx.progress(f"cutting {victim.name}'s host off {redis.name} ({redis.address}) only")
        stack.cut_route(victim.name, redis.address)
        started, probes = time.monotonic(), []
        try:
            while time.monotonic() - started < 8:
                probes.append((round(time.monotonic() - started, 1), shopper.probe()))
            out_after = next((t for t, p in reversed(probes) if p.server == victim.name), 0.0)
        finally:
            stack.cut_route(victim.name, redis.address, healed=True)
        back = shopper.tally(shopper.probes(2 * len(stack.servers)))
    during = [probe for _, probe in probes]
    tally = shopper.tally(during)
    unavailable = sum(probe.status == 503 for probe in during)
    line = (
        f"{victim.name} cut off {redis.name}: {tally.kept}/{tally.total} probes kept the session, "
        f"{unavailable} "
        f"were 503; {victim.name} last answered {out_after:.1f} s into the cut; after it healed "
        f"{back.kept}/{back.total} kept, answered by {', '.join(back.servers)}"
    )
    note = (
        f"{victim.name} is alive (its /healthz answers) but cannot reach the session store: every request it "
        "gets waits for Redis's connect timeout and answers 503. runstack checks each server's /readyz (the "
        "database and the cache answer) every second and takes a server that is alive but not ready out of "
        "nginx's rotation while another server is ready, so only the requests of the first seconds fail; "
        "when the route is back, the server is ready again and rejoins."
    )
    details = {
        "victim": victim.name,
        "store": redis.name,
        "probes": [[t, p.status, p.server] for t, p in probes],
        "after_heal": back,
    }
    parts = [Part.of("probes answered with the session while one server could not reach Redis", tally)]
    return Outcome(parts, line, note, details)


def shop_until(stop, shopper, products, acknowledged, failures):
    """Add to the cart in a loop until ``stop``; count the adds the shop acknowledged (a 302), and
    note when one failed."""
    for product in itertools.cycle(products):
        if stop.is_set():
            return
        if shopper.add(product, 1, required=False):
            acknowledged[shopper.username] += 1
        else:
            failures.append((time.monotonic(), shopper.steps[-1]["status"]))
        time.sleep(0.02)


def redis_primary(stack):
    """The name of the Redis group's primary, as its Sentinels name it now."""
    return next((part["name"] for part in stack.status()["parts"] if part["role"] == "redis-primary"), None)


def failover_run(ctx, ack):
    """Shoppers keep adding to their carts while the Redis primary is SIGKILLed; what is lost?"""
    env = {"SESSION_REDIS_REPLICAS_ACK": str(ack)}
    with on_hosts(ctx, redis="sentinel", workers=1, env=env) as stack:
        products = ctx.products(4, stack=stack)
        shoppers = [ctx.shopper(f"fo{ack}{k}", stack).sign_up() for k in range(3)]
        acknowledged, failures, stop = {shopper.username: 0 for shopper in shoppers}, [], threading.Event()
        work = [(stop, shopper, products, acknowledged, failures) for shopper in shoppers]
        threads = [threading.Thread(target=shop_until, args=args) for args in work]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        primary = next(s for s in stack.stores if isinstance(s, RedisServer) and s.role == "redis-primary")
        ctx.progress(f"SIGKILL to the Redis primary {primary.name} (SESSION_REDIS_REPLICAS_ACK={ack})")
        killed = time.monotonic()
        primary.child.signal(signal.SIGKILL)
        try:
            what = f"waiting for the Sentinels to promote a replica in place of {primary.name}"
            wait_until(lambda: redis_primary(stack) not in (None, primary.name), FAILOVER_WAIT, what)
            promoted = dict(acknowledged)  # each shopper's acknowledged adds when a replica took over

            def every_shopper_served_again():
                return all(acknowledged[name] > count for name, count in promoted.items())

            what = "waiting until every shopper's adds are acknowledged again after the failover"
            wait_until(every_shopper_served_again, FAILOVER_WAIT, what)
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
        new_primary = redis_primary(stack)
        after = {shopper.username: shopper.probe() for shopper in shoppers}
    return {
        "ack": ack,
        "killed": primary.name,
        "new_primary": new_primary,
        "acknowledged": sum(acknowledged.values()),
        "in_carts": sum(p.cart_items or 0 for p in after.values()),
        "logins_lost": sum(not s.logged_in(after[s.username]) for s in shoppers),
        "lines_lost": sum(
            max(0, acknowledged[s.username] - (after[s.username].cart_items or 0)) for s in shoppers
        ),
        "failed_requests": len(failures),
        "failed_statuses": sorted({status for _, status in failures}),
        "seconds_of_errors": round(max((at for at, _ in failures), default=killed) - killed, 1),
        "shoppers": len(shoppers),
    }


@scenario(
    11,
    "failover",
    "Redis failover",
    "The Redis primary SIGKILLed while shoppers shop (Sentinel): what is unavailable, what is lost?",
    only(in_redis, "no Redis holds this profile's sessions"),
)
def redis_failover(ctx):
    runs = [failover_run(ctx, ack) for ack in ((2,) if ctx.quick else (0, 1, 2))]
    parts = [
        Part(
            f"shoppers still logged in after the failover (WAIT for {r['ack']} replicas)",
            r["shoppers"] - r["logins_lost"],
            r["shoppers"],
        )
        for r in runs
    ]
    parts += [
        Part(
            f"acknowledged cart units kept (WAIT for {r['ack']} replicas)",
            r["acknowledged"] - r["lines_lost"],
            r["acknowledged"],
        )
        for r in runs
    ]
    line = "; ".join(
        f"WAIT {r['ack']}: {r['killed']} killed, {r['new_primary']} promoted; {r['failed_requests']} "
        f"requests failed; {r['acknowledged']} acknowledged adds, {r['lines_lost']} lost, "
        f"{r['logins_lost']} logins lost"
        for r in runs
    )
    note = (
        "Sentinel notices the dead primary after down-after-milliseconds (1 s), agrees on it and promotes a "
        "replica; meanwhile session reads and writes fail and the shop answers 503. Redis replicates "
        "asynchronously: an add-to-cart acknowledged just before the kill may never have reached the replica "
        "that is promoted, and is lost without an error. With SESSION_REDIS_REPLICAS_ACK=1 a save waits "
        "(WAIT) until one replica holds it; Sentinel may still promote the other one (it ranks replicas by "
        "offsets it heard up to a second ago). With 2, runstack's default, every replica holds an "
        "acknowledged save, so whichever is promoted has it; a save not confirmed in time is a 503, not a "
        "false success, and while a replica is down every save is."
    )
    return Outcome(parts, line, note, {"runs": runs})
