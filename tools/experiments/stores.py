"""Scenarios 4 and 5: Redis restarted (with and without its data), and servers on other SECRET_KEYs."""

import secrets
import shutil

import redis

from tools.stack.children import wait_until
from tools.stack.services import RedisServer

from .outcome import NotApplicable, Outcome, Part, in_redis, only, scenario, shared


@scenario(
    4,
    "redis",
    "Redis restart",
    "Redis restarted (with and without its data): is the session kept?",
    only(in_redis, "no Redis holds this profile's sessions"),
)
def redis_restart(ctx):
    stack = ctx.stack
    store = next((s for s in stack.stores if isinstance(s, RedisServer)), None)
    if store is None:
        raise NotApplicable("REDIS_URL points at a Redis this lab did not start, so it cannot restart it")
    with redis.Redis.from_url(store.url, socket_timeout=2) as client:
        config = {key: client.config_get(key)[key] for key in ("appendonly", "appendfsync")}
    count = max(6, ctx.probes // 2)

    kept = ctx.shopper_with_cart("redis", quantity=2)
    ctx.progress(f"stopping redis-server (appendonly {config['appendonly']}), probing, starting it again")
    with stack.store_outage(store):
        during = kept.probes(3)
    recovery = wait_until(
        lambda: kept.probe().status == 200, 10, "waiting for sessions after Redis came back"
    )
    after = kept.tally(kept.probes(count))

    wiped = ctx.shopper_with_cart("redis-wiped", quantity=2)
    ctx.progress("stopping redis-server, deleting its data, starting it again")
    with stack.store_outage(store):
        shutil.rmtree(store.folder)
        store.folder.mkdir()
    wait_until(lambda: wiped.probe().status == 200, 10, "waiting for sessions after Redis came back empty")
    empty = wiped.tally(wiped.probes(count))

    down = [probe.status for probe in during]
    line = (
        f"Redis appendonly={config['appendonly']} (fsync {config['appendfsync']}); probes while it was down "
        f"answered {down}, served again after {recovery:.1f} s; restarted with its data: "
        f"{after.kept}/{after.total} kept; restarted empty: {empty.kept}/{empty.total} kept"
    )
    notes = [
        "A clean shutdown writes the append-only file out, so a restart reloads every session."
        if config["appendonly"] == "yes"
        else "This redis-server does not persist to an append-only file."
    ]
    if 503 in down:
        notes.append(
            "While Redis is down a server answers 503 'sessions temporarily unavailable' rather "
            "than silently logging the shopper out."
        )
    if not empty.kept:
        notes.append(
            f"With its data gone every session is lost: under {ctx.profile}, Redis is the only copy."
        )
    if empty.kept == empty.total:
        notes.append(
            f"With its data gone every session survives: {ctx.profile} writes each session to the "
            "database too, and reads it from there when Redis misses."
        )
    details = {
        "persistence": config,
        "during_outage": during,
        "seconds_until_served": round(recovery, 2),
        "after": after,
        "after_wipe": empty,
    }
    parts = [
        Part.of("probes after a restart with the data kept", after),
        Part.of("probes after a restart with the data deleted", empty),
    ]
    return Outcome(parts, line, " ".join(notes), details)


# How each engine meets a server whose SECRET_KEY differs (Django 6 behaviour).
MISMATCH = {
    "signed_cookies": "{odd} cannot verify the cookie's signature: it sees no session, answers anonymous "
    "and tells the browser to delete the cookie.",
    "encrypted_cookies": "{odd} derives another key from its SECRET_KEY and cannot authenticate (let alone "
    "decrypt) the cookie: it sees no session, answers anonymous and tells the browser to delete the cookie.",
    "db": "The stored session data is signed with SECRET_KEY: {odd} cannot decode it and answers "
    "anonymous, but leaves the session in the database for the other servers.",
    "file": "The session file's data is signed with SECRET_KEY: {odd} cannot decode it and answers "
    "anonymous, but leaves the file for the other servers.",
    "cache": "Redis holds the session unsigned, so {odd} reads it; but the login's auth hash (an HMAC "
    "keyed by SECRET_KEY) does not match {odd}'s, so Django logs the shopper out and flushes the "
    "session from the shared store, for every server.",
}
MISMATCH["cached_db"] = MISMATCH["cache"].replace("shared store", "shared Redis and the database")


@scenario(
    5,
    "secret_key",
    "SECRET_KEYs",
    "A server with another SECRET_KEY: what breaks? Does SECRET_KEY_FALLBACKS make rotation safe?",
    only(
        shared,
        "this profile already loses sessions across servers and on every restart "
        "(scenarios 1 and 2); a key change cannot lose more",
    ),
)
def secret_keys(ctx):
    """One server restarted with another key; then every server rotated, with and without fallbacks."""
    stack = ctx.stack
    if len(stack.servers) < 2:
        raise NotApplicable("needs at least two servers to give one of them another key")
    odd, original = stack.servers[1].name, stack.env["SECRET_KEY"]
    mixed, rotated = ctx.shopper_with_cart("key-mixed"), ctx.shopper_with_cart("key-fallback")

    ctx.progress(f"restarting {odd} with a different SECRET_KEY")
    stack.restart(odd, env={"SECRET_KEY": secrets.token_urlsafe(50)})
    probes = mixed.probes(ctx.probes)
    tally = mixed.tally(probes)
    first = next((i for i, probe in enumerate(probes) if probe.server == odd), len(probes))
    others_after = [probe for probe in probes[first + 1 :] if probe.server != odd]
    others_kept = sum(map(mixed.kept, others_after))

    ctx.progress("rotating every server to a new SECRET_KEY with the old one in SECRET_KEY_FALLBACKS")
    stack.restart(env={"SECRET_KEY": secrets.token_urlsafe(50), "SECRET_KEY_FALLBACKS": original})
    with_fallbacks = rotated.tally(rotated.probes(max(6, ctx.probes // 2)))
    unfallen = ctx.shopper_with_cart("key-nofallback")
    ctx.progress("rotating every server to another SECRET_KEY without fallbacks")
    stack.restart(env={"SECRET_KEY": secrets.token_urlsafe(50), "SECRET_KEY_FALLBACKS": ""})
    without = unfallen.tally(unfallen.probes(max(6, ctx.probes // 2)))

    line = (
        f"{odd} with another key: {tally.kept}/{tally.total} probes kept (other servers after {odd} first "
        f"answered: {others_kept}/{len(others_after)}); rotation with the old key as fallback: "
        f"{with_fallbacks.kept}/{with_fallbacks.total} kept; without: {without.kept}/{without.total} kept"
    )
    notes = [MISMATCH[ctx.profile].format(odd=odd)]
    if others_after and others_kept == 0:
        notes.append(f"Measured: after {odd} first answered, no other server recognised the shopper either.")
    elif others_after and others_kept == len(others_after):
        notes.append(f"Measured: only {odd}'s answers were anonymous; the other servers kept the session.")
    if with_fallbacks.kept == with_fallbacks.total:
        notes.append(
            "SECRET_KEY_FALLBACKS lets every server accept what the old key signed while signing "
            "with the new one: the rotation logged nobody out."
        )
    if without.kept == 0:
        notes.append(
            "Without the fallback everything signed with the old key is refused: a rotation "
            "logs everyone out."
        )
    details = {
        "odd_server": odd,
        "mixed": tally,
        "others_after_first_odd": [others_kept, len(others_after)],
        "mixed_probes": probes,
        "with_fallbacks": with_fallbacks,
        "without_fallbacks": without,
    }
    parts = [
        Part.of(f"probes kept with {odd} on another SECRET_KEY", tally),
        Part.of("probes kept after a rotation with SECRET_KEY_FALLBACKS", with_fallbacks),
        Part.of("probes kept after a rotation without fallbacks", without),
    ]
    return Outcome(parts, line, " ".join(notes), details)
