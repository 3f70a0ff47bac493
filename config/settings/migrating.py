"""Not a profile: the settings of a server whose stack is moving its sessions between profiles.

``runstack --switch-profile`` runs servers on this module. ``SHOP_SESSION_PROFILES`` lists
profiles: the server runs the first (all of its settings, its ``SHOP_PROFILE`` included) and
writes sessions where it keeps them; the others' stores are read, in order, when that store
lacks a session, which then moves (``shop/core/session_backends/migrating.py``). docs/LAB.md,
"Switch the session profile while serving", tells the phases and how long a store stays read.
"""

from django.core.exceptions import ImproperlyConfigured

from shop.core.profiles import profile

from .base import *  # noqa: F403
from .base import env, profile_settings

_profiles = [profile(name) for name in env.list("SHOP_SESSION_PROFILES")]
if not all(p.migratable for p in _profiles):
    raise ImproperlyConfigured(
        f"{', '.join(p.name for p in _profiles if not p.migratable)} cannot be migrated: each session "
        "lives in one worker's memory, which no other process can read or move"
    )
globals().update(profile_settings(_profiles[0].name))

SESSION_ENGINE = "shop.core.session_backends.migrating"
SESSION_PRIMARY_ENGINE = _profiles[0].engine
SESSION_FALLBACK_ENGINES = [p.engine for p in _profiles[1:]]

# The Redis profiles keep sessions in their default cache, the others' default cache is each
# process's own: whichever profile this server runs, every session store uses the Redis one.
if any(p.needs_redis for p in _profiles):
    CACHES = {**CACHES, "sessions": REDIS_CACHE}  # noqa: F405
    SESSION_CACHE_ALIAS = "sessions"
# The file profile's folder, whichever place the file profile has in the list.
if any(p.on_host_disk for p in _profiles):
    SESSION_FILE_PATH = env("SESSION_FILE_PATH", default=None)

# Per-session locks (shop/core/session_lock.py) work only if every server takes a session's lock
# in one store, and during a switch the servers write different stores. So a migrating server
# locks in Redis when each server-side profile of its list locks there (cache, cached_db; a cookie
# profile locks wherever the other one does), else in the database, which every migratable profile
# has. Both phases of a switch then lock in one store; only a switch between the two kinds (cache
# -> db, cache -> signed_cookies) has the servers not yet restarted lock elsewhere during phase 1.
# The stack's next start after the old store is retired goes back to the profile's own choice.
_lock_stores = {p.lock_store for p in _profiles if not p.in_cookie}
SHOP_SESSION_LOCK_STORE = "redis" if _lock_stores == {"redis"} else "database"
