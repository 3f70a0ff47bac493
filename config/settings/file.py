"""Profile ``file``: sessions are files on this host's disk.

Every server on one host reads the same folder, so it works here; servers on two hosts
would not see each other's sessions.
"""

from .base import *  # noqa: F403

SHOP_PROFILE = "file"
SESSION_ENGINE = "django.contrib.sessions.backends.file"
# The folder must exist; unset, Django uses the system's temporary folder. runstack sets
# <run folder>/sessions and creates it.
SESSION_FILE_PATH = env("SESSION_FILE_PATH", default=None)  # noqa: F405
# Per-session locks in the database, as for db: one lock with an expiry for both engines rather
# than a third kind (a file lock) for sessions that only one host can read anyway.
SHOP_SESSION_LOCK_STORE = "database"
