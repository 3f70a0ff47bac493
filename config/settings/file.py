"""Profile ``file``: sessions are files on this host's disk.

Every server on one host reads the same folder, so it works here; servers on two hosts
would not see each other's sessions.
"""

from .base import *  # noqa: F403

SESSION_ENGINE = "django.contrib.sessions.backends.file"
SESSION_FILE_PATH = env.path("SESSION_FILE_PATH", default=BASE_DIR / "run" / "sessions")  # noqa: F405
SESSION_FILE_PATH.mkdir(parents=True, exist_ok=True)
