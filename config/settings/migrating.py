"""Not a profile: the settings of a server whose stack is moving its sessions between profiles.

``runstack --switch-profile`` runs servers on this module. ``SHOP_SESSION_PROFILES`` lists
profiles: the server runs the first (all of its settings, its ``SHOP_PROFILE`` included) and
writes sessions where it keeps them; the others' stores are read, in order, when that store
lacks a session, which then moves (``shop/core/session_backends/migrating.py``). docs/LAB.md,
"Switch the session profile while serving", tells the phases and how long a store stays read.
"""

from importlib import import_module

from django.core.exceptions import ImproperlyConfigured

from .base import env

_profiles = env.list("SHOP_SESSION_PROFILES")
if "locmem" in _profiles:
    raise ImproperlyConfigured(
        "locmem keeps each session in one worker's memory: no other process can read or move it"
    )
_modules = [import_module(f"{__package__}.{name}") for name in _profiles]
globals().update({name: value for name, value in vars(_modules[0]).items() if name.isupper()})

SESSION_ENGINE = "shop.core.session_backends.migrating"
SESSION_PRIMARY_ENGINE = _modules[0].SESSION_ENGINE
SESSION_FALLBACK_ENGINES = [module.SESSION_ENGINE for module in _modules[1:]]

# The Redis profiles keep sessions in their default cache, the others' default cache is each
# process's own: whichever profile this server runs, every session store uses the Redis one.
_redis = [m.CACHES["default"] for m in _modules if "redis" in m.CACHES["default"]["BACKEND"]]
if _redis:
    CACHES = {**_modules[0].CACHES, "sessions": _redis[0]}
    SESSION_CACHE_ALIAS = "sessions"
# The file profile's folder, whichever place the file profile has in the list.
SESSION_FILE_PATH = next((m.SESSION_FILE_PATH for m in _modules if hasattr(m, "SESSION_FILE_PATH")), None)

# Per-session locks (shop/core/session_lock.py) work only if every server takes a session's lock
# in one store, and during a switch the servers write different stores. So a migrating server
# locks in Redis when each profile of its list that locks at all locks there (cache, cached_db,
# with signed_cookies too), else in the database, which every profile but locmem has. Both phases
# of a switch then lock in one store; only a switch between the two kinds (cache -> db) has the
# servers not yet restarted lock elsewhere during phase 1. The stack's next start after the old
# store is retired goes back to the profile's own choice.
_lock_stores = {m.SHOP_SESSION_LOCK_STORE for m in _modules} - {None}
SHOP_SESSION_LOCK_STORE = "redis" if _lock_stores == {"redis"} else "database"
