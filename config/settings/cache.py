"""Profile ``cache``: sessions live in Redis (``REDIS_URL``), shared by every server.

Fast and shared; sessions are lost if Redis restarts without persistence. The engine is
Django's cache engine, made to answer 503 instead of logging everyone out while Redis is down.
"""

from .base import *  # noqa: F403
from .base import profile_settings

globals().update(profile_settings("cache"))
