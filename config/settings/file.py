"""Profile ``file``: sessions are files on this host's disk.

Every server on one host reads the same folder, so it works here; servers on two hosts
would not see each other's sessions.
"""

from pathlib import Path

from .base import *  # noqa: F403

SHOP_PROFILE = "file"
SESSION_ENGINE = "django.contrib.sessions.backends.file"
SESSION_FILE_PATH = env("SESSION_FILE_PATH", default=str(BASE_DIR / "run" / "sessions"))  # noqa: F405
Path(SESSION_FILE_PATH).mkdir(parents=True, exist_ok=True)
