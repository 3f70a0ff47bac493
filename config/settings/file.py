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
