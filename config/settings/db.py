"""Profile ``db`` (the default): sessions live in the database every server shares.

Any server can serve any request, and sessions survive every server restarting.
"""

from .base import *  # noqa: F403
from .base import profile_settings

globals().update(profile_settings("db"))
