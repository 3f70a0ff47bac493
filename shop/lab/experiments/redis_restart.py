"""Scenario 4: Redis restarted under the cache and cached_db profiles, with and without its data."""

import shutil
import time

import redis

from shop.stack.servers import healthz
from shop.stack.services import RedisServer

from .outcome import LabError, NotApplicable, Outcome, Part
from .shopper import probe_log

OUTAGE_PROBES = 3


def persistence(store):
    """How this redis-server persists, as it reports it (CONFIG GET)."""
    client = redis.Redis.from_url(store.url, socket_timeout=2)
    try:
        return {key: client.config_get(key)[key] for key in ("appendonly", "appendfsync", "save")}
    finally:
        client.close()


def shopper_with_cart(ctx, stack, label):
    shopper = ctx.shopper(stack, label)
    shopper.sign_up()
    shopper.add(ctx.products(stack)[0], 2)
    return shopper, shopper.tally(shopper.probes(3))


def wipe(folder):
    removed = []
    for path in folder.iterdir():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
        removed.append(path.name)
    return removed


def wait_for_nginx(stack, timeout=10):
    """Seconds until /healthz answers through nginx again after the outage."""
    started = time.monotonic()
    while not healthz(stack.port):
        if time.monotonic() - started > timeout:
            raise LabError(f"nginx did not serve /healthz within {timeout} s of Redis coming back")
        time.sleep(0.1)
    return time.monotonic() - started


def redis_restart(ctx):
    """4. Stop Redis (probe meanwhile), start it again; then the same with its data deleted."""
    stack = ctx.stack
    store = next((s for s in stack.stores if isinstance(s, RedisServer)), None)
    if store is None:
        raise NotApplicable("REDIS_URL points at a Redis this lab did not start, so it cannot restart it")
    config = persistence(store)
    count = max(6, ctx.probes // 2)

    shopper, before = shopper_with_cart(ctx, stack, "redis")
    ctx.progress(f"stopping redis-server (appendonly {config['appendonly']}), probing, starting it again")
    with stack.store_outage(store):
        during = shopper.probes(OUTAGE_PROBES)
    just_after = shopper.probes(OUTAGE_PROBES)
    recovery = wait_for_nginx(stack)
    after = shopper.tally(shopper.probes(count))

    second, second_before = shopper_with_cart(ctx, stack, "redis-wiped")
    ctx.progress("stopping redis-server, deleting its data folder's contents, starting it again")
    with stack.store_outage(store):
        removed = wipe(store.folder)
    wait_for_nginx(stack)
    wiped = second.tally(second.probes(count))

    down = [probe.status for probe in during]
    back = [probe.status for probe in just_after]
    line = (
        f"Redis appendonly={config['appendonly']} (fsync {config['appendfsync']}); probes while it was down "
        f"answered {down}, right after it was back {back}, all 200 again after {recovery:.1f} s; restarted "
        f"with its data: {after.kept}/{after.total} kept (before {before.kept}/{before.total}); restarted "
        f"empty: {wiped.kept}/{wiped.total} kept (before {second_before.kept}/{second_before.total})"
    )
    notes = [
        f"This stack runs redis-server with appendonly {config['appendonly']} "
        f"(fsync {config['appendfsync']}), and a clean shutdown writes the append-only file out, "
        "so a restart reloads every session."
        if config["appendonly"] == "yes"
        else "This redis-server does not persist to an append-only file.",
    ]
    if 503 in down:
        notes.append(
            "While Redis is down a server answers 503 'sessions temporarily unavailable' rather than "
            "silently logging the shopper out."
        )
    if 502 in down + back:
        notes.append(
            "Surprising: nginx also answered 502. nginx passes a server's 503 on without retrying it "
            "(http_503 is not in proxy_next_upstream), so a 502 means a server failed outright: see the "
            "stack log of this cell."
        )
    if ctx.profile == "cache" and not wiped.kept:
        notes.append(
            "With its data gone (no persistence, a flush, a new machine) every session is lost: "
            "under cache, Redis is the only copy."
        )
    if ctx.profile == "cached_db" and wiped.kept == wiped.total:
        notes.append(
            "With its data gone every session survives: cached_db writes each session to the "
            "database too, and reads it from there when Redis misses."
        )
    return Outcome(
        [
            Part("probes after a restart with the data kept", after.kept, after.total),
            Part("probes after a restart with the data deleted", wiped.kept, wiped.total),
        ],
        line,
        " ".join(notes),
        {
            "persistence": config,
            "during_outage": probe_log(during),
            "just_after": probe_log(just_after),
            "seconds_until_served": round(recovery, 2),
            "before": before.as_json(),
            "after": after.as_json(),
            "deleted": removed,
            "before_wipe": second_before.as_json(),
            "after_wipe": wiped.as_json(),
        },
    )
