"""Django's cached_db engine, whose Redis copy waits for replicas when asked (``replicas.py``).

Without the wait, a promoted replica could hold an older copy of a session than the database
and serve it: cached_db reads Redis first.
"""

from django.contrib.sessions.backends.cached_db import SessionStore as DjangoCachedDbSessionStore

from .replicas import WaitForReplicas


class SessionStore(WaitForReplicas, DjangoCachedDbSessionStore):
    pass
