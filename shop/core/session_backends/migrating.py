"""A session engine for a stack that moves its sessions to another profile's store while it serves.

``SESSION_PRIMARY_ENGINE`` is where this server writes sessions; ``SESSION_FALLBACK_ENGINES`` are
read, in order, when the primary store lacks a session (``config/settings/migrating.py`` sets
both from ``SHOP_SESSION_PROFILES``). Like ``SECRET_KEY_FALLBACKS`` for keys: a session found in
a fallback store is accepted and then *moved*: saved in the primary store and deleted from the
one it was found in, so a session lives in one store at a time. That is what lets servers that
write to different stores serve one shopper in turn (``runstack --switch-profile``'s phases):
every server reads every store, and whichever wrote last holds the only copy.

The cookie says which kind of store can hold it: a server-side key is 32 lowercase letters and
digits (Django makes them so), a cookie session (signed or encrypted, both engines built on
Django's signed_cookies one) is anything else, and longer. A server-side key keeps its value when
its session moves between server-side stores; a cookie session moved into a server-side store gets
a new key (it is no key), and a session moved into a cookie engine becomes the cookie, like any
session of that engine. Between the two cookie engines the session is simply read with one and
written with the other.

``db`` and ``cached_db`` keep sessions in one table, ``cached_db`` with a cache in front: between
the two nothing moves, but a server writing through ``db`` drops ``cached_db``'s cached copy, which
would otherwise be stale for the servers reading through ``cached_db``.

The shop serves synchronously (gunicorn sync workers): the async methods are the primary engine's
own, without fallbacks.
"""

import functools
import re
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, SessionBase
from django.contrib.sessions.backends.db import SessionStore as DbStore
from django.contrib.sessions.backends.signed_cookies import SessionStore as SignedCookieStore
from django.core.cache import caches

from shop.core import metrics

SERVER_KEY = re.compile(r"[a-z0-9]{32}")  # SessionBase._get_new_session_key's


def in_cookie(key):
    """Whether a cookie of value ``key`` is the session itself rather than a server-side store's key."""
    return not SERVER_KEY.fullmatch(key)


def can_hold(store_class, key):
    """Whether a store of this class can hold the session a cookie of value ``key`` names."""
    return issubclass(store_class, SignedCookieStore) == in_cookie(key)


def shares_rows(store_class, other_class):
    """db and cached_db keep sessions in one table."""
    return issubclass(store_class, DbStore) and issubclass(other_class, DbStore)


@dataclass
class Found:
    """A session found in a fallback store, to be deleted there once the primary store holds it."""

    store: SessionBase
    key: str

    def discard(self, keeper):
        if isinstance(self.store, SignedCookieStore):
            return  # the cookie the response sets replaces it
        if shares_rows(type(self.store), type(keeper)):
            drop_cached_copy(type(self.store), self.key)
        else:
            self.store.delete(self.key)


def drop_cached_copy(store_class, key):
    """Delete the cached copy a cached_db-like store keeps in front of its row (if it keeps one)."""
    prefix = getattr(store_class, "cache_key_prefix", None)
    if prefix:
        caches[settings.SESSION_CACHE_ALIAS].delete(prefix + key)


class Fallbacks:
    """Mixed into the primary engine's SessionStore by ``store_class``."""

    fallback_classes = ()
    _moved_from = None

    def _fallbacks(self, key):
        return [store_class(key) for store_class in self.fallback_classes if can_hold(store_class, key)]

    def load(self):
        key = self._session_key
        data = super().load()
        if data or not key:
            return data
        for store in self._fallbacks(key):
            found = store.load()
            metrics.fallback_read(found)
            if found:
                self._moved_from = Found(store, key)
                # The primary's miss forgot the key (Django's engines do): a server-side session
                # keeps it, so that another tab's request with this cookie, waiting for the
                # session's lock, finds the session after the move. A cookie session is no key for
                # a server-side store: saving it there makes one.
                server_side = not isinstance(self, SignedCookieStore)
                self._session_key = None if server_side and in_cookie(key) else key
                self.modified = True  # saved at the end of this request: the move
                return found
        return data

    def save(self, must_create=False):
        source = self._moved_from
        if source is None or self._session_key is None:  # without a key, create() saves again
            super().save(must_create)
        else:
            # The first save of a key in this store creates it there.
            first = not must_create and not isinstance(self, SignedCookieStore)
            try:
                super().save(must_create or first)
            except CreateError:
                if not first:
                    raise
                super().save()  # a concurrent request of this session moved it first
            self._moved_from = None
            source.discard(self)
            metrics.session_moved()
        for store_class in self.fallback_classes:
            if self.session_key and shares_rows(store_class, type(self)):
                drop_cached_copy(store_class, self.session_key)

    def delete(self, session_key=None):
        key = session_key or self._session_key
        if not key or can_hold(type(self), key):  # a cookie is nothing a server-side store deletes
            super().delete(session_key)
        for store in self._fallbacks(key) if key else ():
            store.delete(key)

    def exists(self, session_key):
        """A new key must be new in every store: a fallback's session under it would be shadowed."""
        if super().exists(session_key):
            return True
        return any(store.exists(session_key) for store in self._fallbacks(session_key))

    @classmethod
    def clear_expired(cls):
        super().clear_expired()
        for store_class in cls.fallback_classes:
            store_class.clear_expired()


@functools.cache
def store_class(primary, fallbacks):
    """The SessionStore writing through engine ``primary`` and reading ``fallbacks`` (engine paths)."""
    base = import_module(primary).SessionStore
    fallback_classes = tuple(import_module(path).SessionStore for path in fallbacks)
    return type("SessionStore", (Fallbacks, base), {"fallback_classes": fallback_classes})


def __getattr__(name):
    """``SessionStore``, as Django looks it up in ``SESSION_ENGINE``, for the current settings."""
    if name == "SessionStore":
        return store_class(settings.SESSION_PRIMARY_ENGINE, tuple(settings.SESSION_FALLBACK_ENGINES))
    raise AttributeError(name)
