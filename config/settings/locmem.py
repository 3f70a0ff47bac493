"""Profile ``locmem``: sessions live in each worker process's memory (the stateful server).

Behind a balancer the next request usually lands on a process that never saw the
session, and the shopper is bounced to the login page. This profile exists to show that.
"""

from .base import *  # noqa: F403
from .base import profile_settings

globals().update(profile_settings("locmem"))
