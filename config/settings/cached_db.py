"""Profile ``cached_db``: sessions are written to the database and read through Redis.

Reads are as fast as ``cache``; a Redis flush only costs a database read.
"""

from .base import *  # noqa: F403

SHOP_PROFILE = "cached_db"
SESSION_ENGINE = "shop.core.session_backends.cached_db"
CACHES = {**CACHES, "default": REDIS_CACHE}  # noqa: F405
SHOP_SESSION_LOCK_STORE = "redis"
