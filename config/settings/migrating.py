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
