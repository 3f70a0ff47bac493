"""Profile ``cache``: sessions live in Redis (``REDIS_URL``), shared by every server.

Fast and shared; sessions are lost if Redis restarts without persistence.
"""

from .base import *  # noqa: F403

SHOP_PROFILE = "cache"
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
CACHES = {"default": REDIS_CACHE}  # noqa: F405
