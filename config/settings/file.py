"""Profile ``file``: sessions are files on this host's disk.

Every server on one host reads the same folder, so it works here; servers on two hosts
would not see each other's sessions.
"""

from .base import *  # noqa: F403
from .base import profile_settings

globals().update(profile_settings("file"))
