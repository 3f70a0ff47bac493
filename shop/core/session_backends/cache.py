"""Django's cache session engine, except that a cache outage is an error, not a logout, and an
update is one command.

Django's engine treats any error reading the cache as "no such session" (memcached raises
on odd keys), so with Redis down every shopper silently becomes anonymous and their cart
looks empty. Here the outage propagates and the 500 handler answers 503. Saves wait for
replicas when ``SESSION_REDIS_REPLICAS_ACK`` asks for it (``replicas.py``).

Django updates a session by reading it (GET: is it still there?) and then writing it (SET). Here
the write asks Redis itself: ``SET ... XX`` writes only a key that exists. The same answer, one
round trip fewer per write, and no moment between the two in which a sign-out elsewhere could be
written over.
"""

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.cache import SessionStore as DjangoCacheSessionStore
from django_redis.cache import RedisCache

from .replicas import WaitForReplicas


class CacheSessionStore(DjangoCacheSessionStore):
    def load(self):
        session_data = self._cache.get(self.cache_key)
        if session_data is not None:
            return session_data
        self._session_key = None
        return {}

    def save(self, must_create=False):
        # Django's own for a new session, and on a cache other than Redis (tests run this engine on
        # Django's local-memory cache).
        if must_create or self.session_key is None or not isinstance(self._cache, RedisCache):
            return super().save(must_create)
        if not self._cache.set(self.cache_key, self._get_session(), self.get_expiry_age(), xx=True):
            raise UpdateError


class SessionStore(WaitForReplicas, CacheSessionStore):
    pass
