"""Django's cache session engine, except that a cache outage is an error, not a logout.

Django's engine treats any error reading the cache as "no such session" (memcached raises
on odd keys), so with Redis down every shopper silently becomes anonymous and their cart
looks empty. Here the outage propagates and the 500 handler answers 503. Saves wait for
replicas when ``SESSION_REDIS_REPLICAS_ACK`` asks for it (``replicas.py``).
"""

from django.contrib.sessions.backends.cache import SessionStore as DjangoCacheSessionStore

from .replicas import WaitForReplicas


class SessionStore(WaitForReplicas, DjangoCacheSessionStore):
    def load(self):
        session_data = self._cache.get(self.cache_key)
        if session_data is not None:
            return session_data
        self._session_key = None
        return {}
