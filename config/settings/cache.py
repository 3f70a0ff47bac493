"""Profile ``cache``: sessions live in Redis (``REDIS_URL``), shared by every server.

Fast and shared; sessions are lost if Redis restarts without persistence. The engine is
Django's cache engine, made to answer 503 instead of logging everyone out while Redis is down.
"""

from .base import *  # noqa: F403

SHOP_PROFILE = "cache"
SESSION_ENGINE = "shop.core.session_backends.cache"
CACHES = {**CACHES, "default": REDIS_CACHE}  # noqa: F405
SHOP_SESSION_LOCK_STORE = "redis"
