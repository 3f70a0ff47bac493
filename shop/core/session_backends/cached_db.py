"""Django's cached_db engine, whose Redis copy waits for replicas when asked (``replicas.py``).

Without the wait, a promoted replica could hold an older copy of a session than the database
and serve it: cached_db reads Redis first. Its database half is the project's ``db`` engine
(``db.py``: Django's table, read and updated without the ORM's query building).
"""

from django.contrib.sessions.backends.cached_db import SessionStore as DjangoCachedDbSessionStore

from .db import SessionStore as DbSessionStore
from .replicas import WaitForReplicas


class SessionStore(WaitForReplicas, DjangoCachedDbSessionStore, DbSessionStore):
    pass
