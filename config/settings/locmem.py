"""Profile ``locmem``: sessions live in each worker process's memory (the stateful server).

Behind a balancer the next request usually lands on a process that never saw the
session, and the shopper is bounced to the login page. This profile exists to show that.
"""

from .base import *  # noqa: F403

SHOP_PROFILE = "locmem"
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
CACHES = {**CACHES, "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}  # noqa: F405
