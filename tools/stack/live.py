"""Live operations on a running stack: switch its session profile, rotate its SECRET_KEY.

Both are rolling restarts in two phases, so that no shopper is logged out while round robin
sends their requests to servers on either side of the change. Phase 1, one server at a time:
every server learns to *read* what the change will write (the new profile's store, the new
key) and still writes as before. Only once every server reads it, phase 2, one server at a
time: every server writes it, and keeps reading the old store or key as a fallback.

The old store (or key) stays a fallback for ``SESSION_COOKIE_AGE`` after the change: every
session it holds was last written before the change ended, so by then each has expired. A
session found in an old store moves to the new one (``shop/core/session_backends/migrating.py``);
a session signed with an old key is re-signed by the next save. Expired fallbacks are dropped at
the next switch, rotation or start of the stack. Both are kept in the run folder, so a full stop
and start keeps reading them.
"""

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from shop.core.profiles import needing_redis
from shop.core.profiles import profile as profile_named

from .children import StackError, free_ports
from .keys import Key

SESSION_FALLBACKS_FILE = "session_fallbacks.json"
REDIS_VARIABLES = ("REDIS_URL", "REDIS_SENTINELS", "SESSION_REDIS_REPLICAS_ACK")
NOT_MIGRATABLE_REFUSED = (
    "no switch to {profile} keeps sessions: each would live in one worker process's memory, out of "
    "reach of every other; start a stack with --profile {profile} instead"
)
NOT_MIGRATABLE_LOST = (
    "{old} keeps each session in the memory of the one worker process that made it: no other "
    "process can read it, so nothing can move it, and every {old} session ends when its server "
    "restarts into {new}. Shoppers signed in now will have to sign in again."
)


def store(name):
    """Where a profile keeps sessions, in words."""
    return profile_named(name).store


def stamp(seconds):
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def unexpired(fallbacks):
    return [f for f in fallbacks if datetime.fromisoformat(f["until"]).timestamp() > time.time()]


class LiveOperations:
    """Mixed into ``Stack``: what ``runstack --switch-profile`` and ``--rotate-secret-key`` do."""

    # Session profiles -------------------------------------------------------------------
    def fallback_profiles(self):
        return [fallback["profile"] for fallback in self.session_fallbacks]

    def saved_fallbacks(self):
        """The earlier stores a switch left to read, still unexpired, if this stack runs the profile
        it switched to (a stack started with another profile switched naively: they do not apply)."""
        try:
            saved = json.loads((self.run_dir / SESSION_FALLBACKS_FILE).read_text())
        except FileNotFoundError:
            return []
        if saved["profile"] != self.profile:
            self.say(f"{SESSION_FALLBACKS_FILE} is for profile {saved['profile']}: no earlier store is read")
            return []
        return unexpired(saved["fallbacks"])

    def session_age(self):
        return int(self.env.get("SESSION_COOKIE_AGE") or settings.SESSION_COOKIE_AGE)

    def session_env(self, profile, fallbacks=()):
        """The variables that make a server keep sessions where ``profile`` does, and read the stores
        of ``fallbacks`` (profiles) when a session is not there; starts Redis if it is needed now."""
        profiles = [profile, *fallbacks]
        env = {
            "DJANGO_SETTINGS_MODULE": f"config.settings.{'migrating' if fallbacks else profile}",
            "SHOP_SESSION_PROFILES": ",".join(profiles),
        }
        if any(profile_named(name).on_host_disk for name in profiles):
            folder = self.base_env.get("SESSION_FILE_PATH") or self.run_dir / "sessions"
            Path(folder).mkdir(parents=True, exist_ok=True)
            env["SESSION_FILE_PATH"] = str(folder)
        if needing_redis(profiles):
            if not self.env.get("REDIS_URL"):
                self.env |= self._start_redis(self._store_ports if self.network else free_ports(7))
                self.write_status()
            env |= {name: self.env[name] for name in REDIS_VARIABLES if name in self.env}
        return env

    def switch_profile(self, profile, progress=None):
        """Move every server to ``profile`` while the stack serves, keeping every session (see the
        module's docstring); returns what it did, in words. StackError when it cannot."""
        say = progress or self.say
        try:
            old, new = profile_named(self.profile), profile_named(profile)
        except ValueError as error:
            raise StackError(str(error)) from None
        if new == old:
            raise StackError(f"the stack already runs profile {new}")
        if not new.migratable:
            raise StackError(NOT_MIGRATABLE_REFUSED.format(profile=new))
        started = time.monotonic()
        keep = [f for f in unexpired(self.session_fallbacks) if f["profile"] not in (old.name, new.name)]
        reads = [f["profile"] for f in keep]
        if old.migratable:
            phases = [
                (f"phase 1: every server reads {new.store} too, still writing {old.store}", old, [new]),
                (f"phase 2: every server writes {new.store}, reading {old.store} too", new, [old]),
            ]
        else:
            say(NOT_MIGRATABLE_LOST.format(old=old, new=new))
            phases = [(f"every server writes {new.store}", new, [])]
        for text, writes, first_fallbacks in phases:
            say(text)
            fallbacks = [*(p.name for p in first_fallbacks), *reads]
            env = self.session_env(writes.name, fallbacks)
            for server in self.servers:
                self.restart(server.name, env=env)
                reading = ", ".join(map(store, [writes.name, *fallbacks]))
                say(f"  {server.name} writes {writes.store}, reads {reading}")
        until = time.time() + self.session_age()
        self.profile = new.name
        moved = [{"profile": old.name, "until": stamp(until)}] if old.migratable else []
        self.session_fallbacks = moved + keep
        self.env |= self.session_env(new.name, self.fallback_profiles())
        saved = {"profile": new.name, "fallbacks": self.session_fallbacks}
        (self.run_dir / SESSION_FALLBACKS_FILE).write_text(json.dumps(saved, indent=2) + "\n")
        self.write_status()
        seconds = time.monotonic() - started
        summary = f"Switched from {old} to {new} in {seconds:.1f} s: every server runs {new}."
        if not old.migratable:
            return f"{summary} Every {old} session was lost (each lived in one worker's memory)."
        return (
            f"{summary} Until {stamp(until)} (SESSION_COOKIE_AGE from now: every session still there "
            f"has expired by then) the servers also read {old.store}, and a session found there moves "
            f"to {new.store}."
        )

    # SECRET_KEY ---------------------------------------------------------------------------
    @staticmethod
    def key_env(signing, accepted):
        """The variables of a server signing with ``signing`` and accepting ``accepted`` (Keys)."""
        return {
            "SECRET_KEY": signing.key,
            "SHOP_SECRET_KEY_ID": signing.id,
            "SECRET_KEY_FALLBACKS": ",".join(key.key for key in accepted),
        }

    def own_key_env(self):
        """The key variables the stack's servers should run with, as its run folder says (or as the
        environment does when it gives a SECRET_KEY: that one has no id the stack knows)."""
        if self.base_env.get("SECRET_KEY"):
            return {name: self.base_env.get(name, "") for name in ("SECRET_KEY", "SECRET_KEY_FALLBACKS")}
        return self.key_env(self.keys.current(), self.keys.previous())

    def rotate_secret_key(self, progress=None):
        """Give every server a new SECRET_KEY while the stack serves, keeping every session (see the
        module's docstring); returns what it did, in words. StackError when it cannot."""
        say = progress or self.say
        if self.base_env.get("SECRET_KEY"):
            raise StackError("SECRET_KEY comes from the environment: rotate it where it is set")
        started = time.monotonic()
        old, new = self.keys.current(), Key.new()
        say(f"phase 1: every server accepts the new key {new.id} too, still signing with {old.id}")
        env = self.key_env(old, [new, *self.keys.previous()])
        for server in self.servers:
            self.restart(server.name, env=env)
            say(f"  {server.name} signs with {old.id}, accepts {new.id}")
        # From here on sessions are signed with the new key: a full stop and start must use it.
        self.keys.replace(new, self.session_age())
        accepted = self.keys.previous()
        say(f"phase 2: every server signs with {new.id}, accepting {old.id} too")
        env = self.key_env(new, accepted)
        for server in self.servers:
            self.restart(server.name, env=env)
            say(f"  {server.name} signs with {new.id}, accepts {', '.join(key.id for key in accepted)}")
        self.env |= env
        self.write_status()
        return (
            f"Rotated the SECRET_KEY in {time.monotonic() - started:.1f} s: every server signs with key "
            f"{new.id} and accepts {old.id} until {stamp(accepted[0].until)} (SESSION_COOKIE_AGE from now; "
            "sessions it signed have expired by then)."
        )
