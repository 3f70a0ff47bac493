"""Profile ``db`` (the default): sessions live in the database every server shares.

Any server can serve any request, and sessions survive every server restarting.
"""

from .base import *  # noqa: F403

SHOP_PROFILE = "db"
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SHOP_SESSION_LOCK_STORE = "database"
