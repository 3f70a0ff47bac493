"""One request at a time may change a session: a short per-session lock, held across servers.

Django loads the whole session when a request starts and saves the whole session when it ends,
without locking. Of two requests of one session that overlap (two tabs, a double click), the
last to save wins and the other's change is gone: a cart line vanishes. This middleware sits
before SessionMiddleware and holds a lock named after the session cookie from before the session
is read until after it is saved, for the requests that may change it: unsafe methods (POST ...),
and every request when SESSION_SAVE_EVERY_REQUEST makes every request a write.

The lock lives in a store every server and worker shares, which the profile already runs and
names in SHOP_SESSION_LOCK_STORE: Redis where the sessions live in Redis (``cache``,
``cached_db``), the database otherwise (``db``, ``file`` and the cookie profiles). Under ``locmem``
a session is one worker's memory, which serves one request at a time anyway. This module is the
only place that knows; views and the Cart do not.

Under the cookie profiles no server holds the session, yet two tabs still race: each request
carries its own copy, and the browser keeps whichever cookie comes back last, so the other tab's
acknowledged line was gone (the soak's 57 of 1091). Every write of a cookie session replaces the
cookie, so the mark below fences them: of two requests sent with one cookie, the second finds it
replaced and gets the 409, and the browser sends it again with the cookie the first one set. The
price is the database rows of the writes in flight (a cookie profile is no longer stateless on the
servers); ``SHOP_SESSION_LOCKS=0`` shows the engine without it (the lab's scenario 7).

A request that gives its session a new key or ends it (signing in or out, a password change) leaves
a mark under the old cookie's name, kept as long as any request may still wait for that lock. A
request that took the lock with that old cookie (another tab, sent before the browser had the new
cookie) would find no session and start an anonymous one, whose cookie the browser would keep as the
last one set: signed out, and the cart gone. Marked, it gets the 409 below and changes nothing; the
browser sends it again with the new cookie. The mark does not lead to the new session: a planted
cookie must stay worthless after a login (session fixation), and a stolen one after a password
change. (A SECRET_KEY rotation keeps each session's key: shop/accounts/middleware.py.)

A lock expires after SHOP_SESSION_LOCK_TTL seconds, so a worker killed while holding it blocks
that session's writes for that long at most. A request that cannot take the lock within
SHOP_SESSION_LOCK_WAIT seconds is answered 409 with Retry-After, having changed nothing.
"""

import hashlib
import logging
import secrets
import time
from datetime import timedelta
from functools import cache
from types import SimpleNamespace

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.http import HttpResponse
from django.template import loader
from django.utils import timezone
from redis.lock import Lock

from . import metrics
from .models import SessionLock
from .raw_sql import Select, param, quoted

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Waiting requests look again this often: a tenth of a typical add-to-cart.
POLL_SECONDS = 0.02


# What a store's acquire() answers when the cookie was replaced: no lock, a 409 at once.
REPLACED = "replaced"


def lock_name(cookie):
    """The lock's name: a hash of the session cookie, which itself never reaches the lock store."""
    return hashlib.sha256(cookie.encode()).hexdigest()


class FencedLock(Lock):
    """redis-py's lock, taken only while the cookie it is named after is not marked replaced: one
    script, where taking the lock and then asking for the mark cost two round trips of a write's
    six (the session read, Django's check that the session still exists and its write, the release)."""

    lua_fenced_acquire = None
    FENCED_ACQUIRE = """
    if redis.call('exists', KEYS[2]) == 1 then return -1 end
    if redis.call('set', KEYS[1], ARGV[1], 'nx', 'px', ARGV[2]) then return 1 end
    return 0
    """

    class Replaced(Exception):
        pass

    def __init__(self, redis, name, mark, **options):
        super().__init__(redis, name, **options)
        self.mark = mark

    def register_scripts(self):
        super().register_scripts()
        cls = type(self)
        if cls.lua_fenced_acquire is None:
            cls.lua_fenced_acquire = self.redis.register_script(cls.FENCED_ACQUIRE)

    def do_acquire(self, token):
        milliseconds = int(self.timeout * 1000)
        taken = self.lua_fenced_acquire(
            keys=[self.name, self.mark], args=[token, milliseconds], client=self.redis
        )
        if taken == -1:
            raise self.Replaced
        return taken == 1


class RedisLocks:
    """redis-py's lock (SET NX PX with a random token; released by a script that checks the token),
    taken together with the check for a mark (``FencedLock``)."""

    def __init__(self):
        from django.core.cache import caches
        from redis.exceptions import ConnectionError, LockError, RedisError, ResponseError

        # The cache the sessions live in: "default" for a profile, "sessions" on a migrating server.
        self.cache, self.release_errors = caches[settings.SESSION_CACHE_ALIAS], (LockError, RedisError)
        self.refusals, self.unavailable = ResponseError, ConnectionError

    def acquire(self, name, ttl, wait):
        # A Redis outage raises here, before the session is read: the 500 handler answers 503. So
        # does a primary that refuses writes (too few replicas in sync, or demoted by a failover).
        client = self.cache.client
        lock = FencedLock(
            client.get_client(write=True),
            client.make_key(f"session-lock:{name}"),
            client.make_key(f"session-replaced:{name}"),
            timeout=ttl,
            sleep=POLL_SECONDS,
            blocking_timeout=wait,
            thread_local=False,
        )
        try:
            return lock if lock.acquire() else None
        except FencedLock.Replaced:
            return REPLACED
        except self.refusals as error:
            raise self.unavailable(f"the session lock's primary refused the write: {error}") from error

    def mark_replaced(self, name, ttl):
        self.cache.set(f"session-replaced:{name}", 1, timeout=ttl)

    def release(self, lock, unmark=None):
        """Release ``lock``, and forget the mark of the cookie ``unmark`` names (``lock_name``), if any."""
        if unmark:
            self.cache.delete(f"session-replaced:{unmark}")
        try:
            lock.release()
        except self.release_errors:  # expired (and maybe taken over), or Redis went away: the TTL frees it
            logger.warning("session lock %s was not released", lock.name, exc_info=True)


class DatabaseLocks:
    """A row per held lock. The primary key makes taking it atomic on every database; a row past
    its expiry was left by a worker that died (or ran too long) and may be taken over.

    Every write to a session of the ``db`` and ``file`` profiles takes and releases one, so its three
    statements are written out (``shop/core/raw_sql.py``): through the ORM they took 1460 µs of CPU per
    add-to-cart, written out 350 µs (``manage.py bench --in-process --profiles db --baseline``, before
    and after in one run).
    """

    def acquire(self, name, ttl, wait):
        token = secrets.token_hex(16)
        give_up = time.monotonic() + wait
        while not self._take(name, token, timedelta(seconds=ttl)):
            if time.monotonic() + POLL_SECONDS > give_up:
                return None
            time.sleep(POLL_SECONDS)
        if self.replaced(name):  # asked while the lock is held: a mark is made by the request holding it
            self.release((name, token))
            return REPLACED
        return name, token

    @staticmethod
    def _take(name, token, ttl):
        now = timezone.now()
        sql = lock_statements()
        # Waiting is reading: only a lock that looks free costs a write (SQLite has one writer).
        found = sql.expires.first([name])
        if found is None:
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(sql.insert, [name, token, expiry(now + ttl)])
            except IntegrityError:  # another request was quicker
                return False
            return True
        if found[0] > now:
            return False
        with connection.cursor() as cursor:  # expired: taken over, unless another request was quicker
            cursor.execute(sql.take_over, [token, expiry(now + ttl), name, expiry(now)])
            return cursor.rowcount == 1

    @staticmethod
    def mark_replaced(name, ttl):
        # A row of its own name, which no lock takes; it goes with the expired locks (release).
        mark, expires, sql = (
            lock_name(f"replaced:{name}"),
            expiry(timezone.now() + timedelta(seconds=ttl)),
            lock_statements(),
        )
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql.insert, [mark, "replaced", expires])
        except IntegrityError:  # marked before and not yet cleared: marked until later
            with connection.cursor() as cursor:
                cursor.execute(sql.prolong, [expires, mark])

    @staticmethod
    def replaced(name):
        found = lock_statements().expires.first([lock_name(f"replaced:{name}")])
        return found is not None and found[0] > timezone.now()

    @staticmethod
    def release(handle, unmark=None):
        """Release the lock ``handle``, and forget the mark of the cookie ``unmark`` names, in one statement
        (every write of a cookie session does both)."""
        name, token = handle
        mark = lock_name(f"replaced:{unmark}") if unmark else None  # NULL: no row
        try:
            # Expired locks of other sessions go too: they are free anyway, and so the table holds
            # only the locks of requests in flight, with no clean-up job.
            with connection.cursor() as cursor:
                cursor.execute(lock_statements().release, [name, token, mark, expiry(timezone.now())])
        except DatabaseError:
            logger.warning("session lock %s was not released", name, exc_info=True)


def expiry(moment):
    return param(SessionLock, "expires", moment)


@cache
def lock_statements():
    table, name, token, expires = (quoted(SessionLock, field) for field in (None, "name", "token", "expires"))
    # Names from the model, values as parameters: nothing of a request's is formatted into SQL.
    return SimpleNamespace(
        expires=Select(f"SELECT {expires} FROM {table} WHERE {name} = %s", [(SessionLock, "expires")]),  # noqa: S608
        insert=f"INSERT INTO {table} ({name}, {token}, {expires}) VALUES (%s, %s, %s)",  # noqa: S608
        take_over=f"UPDATE {table} SET {token} = %s, {expires} = %s WHERE {name} = %s AND {expires} <= %s",  # noqa: S608
        prolong=f"UPDATE {table} SET {expires} = %s WHERE {name} = %s",  # noqa: S608
        release=f"DELETE FROM {table} WHERE ({name} = %s AND {token} = %s) OR {name} = %s OR {expires} < %s",  # noqa: S608
    )


STORES = {"redis": RedisLocks, "database": DatabaseLocks}


def may_change_session(request):
    """Whether this request may change its session, and so holds the session's lock (if it has one)."""
    return request.method not in SAFE_METHODS or settings.SESSION_SAVE_EVERY_REQUEST


def session_busy():
    """Rendered without the request, like the 503 page: the session was not read and must not be."""
    response = HttpResponse(loader.render_to_string("409.html"), status=409)
    response["Retry-After"] = "1"
    return response


def session_lock(get_response):
    store_name = settings.SHOP_SESSION_LOCK_STORE
    if not (settings.SHOP_SESSION_LOCKS and store_name):
        raise MiddlewareNotUsed
    store = metrics.measured_locks(STORES[store_name](), store_name)

    def middleware(request):
        cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if not (
            cookie and may_change_session(request)
        ):  # no session yet: nothing another request could overwrite
            return get_response(request)
        name = lock_name(cookie)
        held = store.acquire(name, settings.SHOP_SESSION_LOCK_TTL, settings.SHOP_SESSION_LOCK_WAIT)
        if held is None or held is REPLACED:
            return session_busy()
        unmark = None
        try:
            response = get_response(request)  # SessionMiddleware has saved the session when this returns
            session = getattr(request, "session", None)
            if session is not None and session.session_key != cookie:
                store.mark_replaced(name, settings.SHOP_SESSION_LOCK_TTL + settings.SHOP_SESSION_LOCK_WAIT)
                # The new cookie is good whatever came before: a signed cookie of the same session
                # data signed in the same second is the very string an earlier write replaced.
                if session.session_key:
                    unmark = lock_name(session.session_key)
            return response
        finally:
            store.release(held, unmark)

    return middleware
