"""Profile ``cached_db``: sessions are written to the database and read through Redis.

Reads are as fast as ``cache``; a Redis flush only costs a database read.
"""

from .base import *  # noqa: F403
from .base import profile_settings

globals().update(profile_settings("cached_db"))
