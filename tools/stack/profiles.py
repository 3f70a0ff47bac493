"""The session profiles of DESIGN.md, each a module config.settings.<profile>, in its table's order:
from the stateful failure to the stateless cookie. The one list of them."""

PROFILES = ("locmem", "file", "db", "cache", "cached_db", "signed_cookies")
REDIS_PROFILES = frozenset({"cache", "cached_db"})
