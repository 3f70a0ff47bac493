"""The fault kinds a soak injects, each through the stack's own operations, and which stacks can
take which.

A kind's ``inject(soak, target, hold)`` breaks something and returns a note. A pause, a partition,
a Redis outage and a full stop last ``hold`` seconds and are put right by the kind itself (SIGCONT,
heal, start); a kill is left for the stack to heal (its monitor starts a killed server or Redis
member again, Sentinel fails over), and a live operation is over when it returns.
``unsupported(shape)`` says why a stack of that shape cannot take the kind, or None; ``shape`` is
the soak's options (profile, servers, hosts, redis, db, unsafe).
"""

import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from shop.core.profiles import REGISTRY
from shop.core.profiles import profile as profile_named
from tools.stack.services import RedisServer


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    inject: Callable | None  # (soak, target, hold) -> a note
    unsupported: Callable = lambda shape: None
    targets: Callable = lambda shape: [None]


def quiet(line):
    """The stack's own progress lines go to its log, not to the soak's output."""


def servers(shape):
    return [f"server{k}" for k in range(1, shape.servers + 1)]


def redis_names(shape):
    return ["redis"] if shape.redis == "single" else ["redis1", "redis2", "redis3"]


def in_redis(shape):
    return profile_named(shape.profile).needs_redis


def data_redis(stack):
    """The Redis servers holding sessions (not the Sentinels), replicas first, the primary last."""
    roles = {part["name"]: part["role"] for part in stack.status()["parts"]}
    members = [s for s in stack.stores if isinstance(s, RedisServer) and roles.get(s.name) != "sentinel"]
    return sorted(members, key=lambda s: (roles.get(s.name) == "redis-primary", s.name))


def whole(stack):
    """Every server answers /healthz and every store runs: nothing is left to heal."""
    return all(s.answers() for s in stack.servers) and all(s.child.exit_code is None for s in stack.stores)


# Servers ----------------------------------------------------------------------------------
def kill_server(soak, target, hold):
    pid = soak.stack.server(target).pid
    soak.stack.kill(target, signal.SIGKILL)
    return f"SIGKILL to {target} (pid {pid}); the stack starts it again"


def pause_server(soak, target, hold):
    soak.stack.kill(target, signal.SIGSTOP)
    try:
        time.sleep(hold)
    finally:
        soak.stack.kill(target, signal.SIGCONT)
    return f"SIGSTOP to {target}, SIGCONT {hold:.1f} s later"


def partition(soak, target, hold):
    soak.stack.partition(target)
    try:
        time.sleep(hold)
    finally:
        soak.stack.partition(target, healed=True)
    return f"{target}'s host cut off the network for {hold:.1f} s"


def needs_hosts(shape):
    return None if shape.hosts else "needs --hosts (a host of its own to cut off)"


def store_hosts(shape):
    return [
        *(redis_names(shape) if in_redis(shape) else []),
        *(["postgres"] if shape.db == "postgres" else []),
    ]


# Redis ------------------------------------------------------------------------------------
def kill_redis(role):
    def inject(soak, target, hold):
        *replicas, primary = data_redis(soak.stack)
        alive = [s for s in replicas if s.child.exit_code is None]
        victim = primary if role == "primary" else (alive or replicas)[0]
        victim.child.signal(signal.SIGKILL)
        return f"SIGKILL to the Redis {role} {victim.name}; Sentinel fails over, the stack starts it again"

    return inject


def needs_sentinel(shape):
    if not in_redis(shape):
        return "this profile keeps no sessions in Redis"
    if shape.redis != "sentinel":
        return "a lone Redis has no failover to put to the test: use restart_redis, or --redis sentinel"
    return None


def restart_redis(soak, target, hold):
    members = data_redis(soak.stack)
    with contextlib.ExitStack() as outage:
        for store in members:  # the primary stops last and starts first
            outage.enter_context(soak.stack.store_outage(store))
        time.sleep(hold)
    return f"{', '.join(s.name for s in members)} stopped for {hold:.1f} s and started again"


def needs_redis(shape):
    return None if in_redis(shape) else "this profile keeps no sessions in Redis"


def kill_postgres(soak, target, hold):
    victim = next(store for store in soak.stack.stores if store.role == "postgres")
    victim.child.signal(signal.SIGKILL)
    return f"SIGKILL to {victim.name}; the stack starts it again on its data (503s meanwhile)"


def needs_postgres(shape):
    return None if shape.db == "postgres" else "no PostgreSQL in this stack (--db postgres)"


# The whole stack ----------------------------------------------------------------------------
def reload_nginx(soak, target, hold):
    soak.stack.nginx.signal(signal.SIGHUP)
    return "SIGHUP to nginx: new workers, the old ones finish their requests"


def rolling_restart(soak, target, hold):
    return soak.stack.restart(progress=quiet)


def partner(profile, shape):
    """The profile a live switch goes to and comes back from: migratable, locking, shared across
    this stack's hosts, and as like this one as can be (the same lock store, no new store)."""
    here = profile_named(profile)
    fits = [
        p
        for p in REGISTRY.values()
        if p != here and p.migratable and p.lock_store and (p.across_hosts or not shape.hosts)
    ]
    return min(fits, key=lambda p: (p.lock_store != here.lock_store, p.needs_redis and not here.needs_redis))


def switch_profile(soak, target, hold):
    """There and back: from the soak's profile to its partner, or from the partner back. Naive with
    --unsafe: every server restarted with the other profile's settings, one at a time."""
    old = soak.profile
    new = partner(old, soak.options).name if old == soak.options.profile else soak.options.profile
    if soak.options.unsafe:
        soak.stack.restart(env=soak.stack.session_env(new), progress=quiet)
        how = "naively: every server restarted with it, reading no other store"
    else:
        soak.stack.switch_profile(new, progress=quiet)
        how = "in two phases"
    soak.profile = new
    return f"switched from {old} to {new} {how}"


def cannot_switch(shape):
    if not profile_named(shape.profile).migratable:
        return f"no switch keeps {shape.profile}'s sessions: each lives in one worker's memory"
    return None


def rotate_key(soak, target, hold):
    return soak.stack.rotate_secret_key(progress=quiet)


def key_from_environment(shape):
    return (
        "SECRET_KEY comes from the environment: rotate it where it is set"
        if os.environ.get("SECRET_KEY")
        else None
    )


def stop_start(soak, target, hold):
    return soak.stop_and_start(hold)


def cannot_stop_start(shape):
    if shape.db == "postgres":
        return "the throwaway PostgreSQL cluster is deleted at stop, and every order with it"
    return None


def no_store_host(shape):
    if shape.hosts and not store_hosts(shape):
        return "no store runs on a host of its own (SQLite is a file on this machine)"
    return needs_hosts(shape)


KINDS = {
    kind.name: kind
    for kind in (
        Kind("kill_server", "SIGKILL a server", kill_server, targets=servers),
        Kind(
            "pause_server",
            "SIGSTOP a server for a few seconds, then SIGCONT",
            pause_server,
            targets=servers,
        ),
        Kind(
            "partition_server",
            "cut a server's host off the network, then heal it",
            partition,
            needs_hosts,
            servers,
        ),
        Kind(
            "partition_store",
            "cut a store's host off the network, then heal it",
            partition,
            no_store_host,
            store_hosts,
        ),
        Kind("kill_redis_primary", "SIGKILL the Redis primary", kill_redis("primary"), needs_sentinel),
        Kind("kill_redis_replica", "SIGKILL a Redis replica", kill_redis("replica"), needs_sentinel),
        Kind(
            "restart_redis",
            "stop every Redis server for a few seconds, then start them again",
            restart_redis,
            needs_redis,
        ),
        Kind("kill_postgres", "SIGKILL PostgreSQL", kill_postgres, needs_postgres),
        Kind("reload_nginx", "reload nginx (SIGHUP)", reload_nginx),
        Kind("rolling_restart", "restart every server, one at a time", rolling_restart),
        Kind(
            "switch_profile",
            "switch the session profile live (and back, the next time)",
            switch_profile,
            cannot_switch,
        ),
        Kind("rotate_key", "rotate the SECRET_KEY in two phases", rotate_key, key_from_environment),
        Kind(
            "stop_start",
            "stop the whole stack, and start it again in the same run folder a few seconds later",
            stop_start,
            cannot_stop_start,
        ),
    )
}


def supported(shape):
    return [name for name, kind in KINDS.items() if kind.unsupported(shape) is None]


def left_out(shape):
    """{kind: why this stack cannot take it}."""
    return {name: why for name, kind in KINDS.items() if (why := kind.unsupported(shape))}
