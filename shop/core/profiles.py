"""The session profiles: the one place that knows what each one is.

A profile is a settings module ``config.settings.<name>``: its docstring and ``SHOP_PROFILE =
profile("<name>")``, from which ``config/settings/base.py``'s ``profile_settings`` derives the
engine, the cache and the lock store. runstack, the live switch, the lab, the bench and the tests
read the facts below instead of comparing names; ``shop/core/tests/test_profile_registry.py`` holds
them against the settings modules. Listed in DESIGN.md's order: from the stateful failure to the
stateless cookie.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    engine: str  # SESSION_ENGINE
    where: str  # where a session lives, in a few words (the lab and the docs show it)
    # Where the per-session locks live (shop/core/session_lock.py): "redis", "database", or None
    # where only one process holds the session (locmem). A cookie session is locked too (a fence
    # between two tabs), in the database every profile has.
    lock_store: str | None
    needs_redis: bool = False  # sessions live in Redis: its default cache is the Redis one
    across_servers: bool = True  # a session one server made is read by every other server
    across_hosts: bool = True  # ... also by servers on other hosts
    migratable: bool = True  # a live switch can move its sessions to another profile's store
    in_cookie: bool = False  # the session is the browser's cookie: no server holds it
    on_host_disk: bool = False  # sessions are files in a folder of the host (SESSION_FILE_PATH)

    def __str__(self):
        return self.name

    @property
    def settings_module(self):
        return f"config.settings.{self.name}"

    @property
    def store(self):
        """Where it keeps sessions, as a sentence says it ("signed cookies", "db's store")."""
        return self.name.replace("_", " ") if self.in_cookie else f"{self.name}'s store"


REGISTRY = {
    profile.name: profile
    for profile in (
        Profile(
            "locmem",
            "django.contrib.sessions.backends.cache",
            "each worker process's own memory",
            lock_store=None,
            across_servers=False,
            across_hosts=False,
            migratable=False,
        ),
        Profile(
            "file",
            "shop.core.session_backends.file",
            "files in one folder on this host",
            # As for db: one lock with an expiry for both engines rather than a third kind (a file
            # lock) for sessions that only one host can read anyway.
            lock_store="database",
            across_hosts=False,
            on_host_disk=True,
        ),
        # Django's db engine and table, read and updated with one hand-written statement each.
        Profile("db", "shop.core.session_backends.db", "the database every server uses", "database"),
        Profile(
            "cache",
            "shop.core.session_backends.cache",
            "the Redis every server uses",
            lock_store="redis",
            needs_redis=True,
        ),
        Profile(
            "cached_db",
            "shop.core.session_backends.cached_db",
            "the database, read through the shared Redis",
            lock_store="redis",
            needs_redis=True,
        ),
        Profile(
            "signed_cookies",
            "django.contrib.sessions.backends.signed_cookies",
            "the browser's cookie, signed with the SECRET_KEY every server shares",
            lock_store="database",
            in_cookie=True,
        ),
        Profile(
            "encrypted_cookies",
            "shop.core.session_backends.encrypted_cookies",
            "the browser's cookie, encrypted with a key derived from the SECRET_KEY every server shares",
            lock_store="database",
            in_cookie=True,
        ),
    )
}
PROFILES = tuple(REGISTRY)  # the names, in the table's order
DEFAULT = "db"


class UnknownProfile(ValueError):
    pass


def profile(name):
    """The profile called ``name``; UnknownProfile (a ValueError that lists the choices) if none is."""
    try:
        return REGISTRY[str(name)]
    except KeyError:
        raise UnknownProfile(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}") from None


def needing_redis(names):
    """Whether any of these profiles keeps its sessions in Redis."""
    return any(profile(name).needs_redis for name in names)
