"""Django's cached_db engine, whose Redis copy waits for replicas when asked (``replicas.py``) and is
never older than a write that landed while a read filled it.

Without the wait, a promoted replica could hold an older copy of a session than the database
and serve it: cached_db reads Redis first. Its database half is the project's ``db`` engine
(``db.py``: Django's table, read and updated without the ORM's query building).

Django's engine fills the cache after a miss with ``set``: a read (which takes no session lock)
that read the row just before another tab's write saved it then overwrote that write's newer copy,
and every read after served the older cart until the next write saved it over the database row
(the acknowledged line was gone). Here the fill is an ``add``: a copy a write put there since
stays (test_db_session_engine.py).
"""

from django.contrib.sessions.backends.cached_db import SessionStore as DjangoCachedDbSessionStore

from .db import SessionStore as DbSessionStore
from .replicas import WaitForReplicas


class SessionStore(WaitForReplicas, DjangoCachedDbSessionStore, DbSessionStore):
    def load(self):
        try:
            data = self._cache.get(self.cache_key)
        except Exception:  # Django's: a key the cache refuses (memcached) reads the database
            data = None
        if data is not None:
            return data
        row = self._get_session_from_db()
        if row is None:
            return {}
        data = self.decode(row.session_data)
        self._cache.add(self.cache_key, data, self.get_expiry_age(expiry=row.expire_date))
        return data
