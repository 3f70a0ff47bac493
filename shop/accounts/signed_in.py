"""Who is signed in, and whether their session's Device record lives: one SQL statement for both.

Django's auth middleware reads the user (``auth.get_user``: one ORM query) and the Device check
(``devices.py``) then reads the record (another): two queries on every signed-in request, 580 and
620 µs of CPU through the ORM on this project's 2-core machine. ``lookup`` does what
``auth.get_user`` does, step for step, but reads the user's row and the record in one hand-written
``SELECT ... LEFT JOIN`` (``shop/core/raw_sql.py``): 150 µs for both, the hash check included
(``manage.py bench --in-process --profiles db --baseline``, before and after in one run;
docs/BENCHMARKS.md). Nothing is cached: every request still reads the user's current password hash
and ``session_epoch`` and the record, so a password change, "log out of all devices", a rotated key
or an ended device signs a session out at its next request on every server, as before.

Only sessions signed in through Django's ``ModelBackend`` (every login of the shop's) take this path;
any other backend's ``get_user`` is its own, and ``devices.py`` asks Django as before.
"""

from contextlib import contextmanager
from functools import cache

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser
from django.db import router
from django.utils.crypto import constant_time_compare

from shop.core.raw_sql import Select, quoted
from shop.core.session_lock import may_change_session

from .models import Device, User


@cache
def user_and_device():
    fields = [(User, field.name) for field in User._meta.concrete_fields]
    device_columns = (f"d.{quoted(Device, name)}" for name in ("id", "last_seen"))
    columns = ", ".join([*(f"u.{quoted(User, name)}" for _, name in fields), *device_columns])
    user_pk, device = quoted(User, "id"), quoted(Device)
    join = f"d.{quoted(Device, 'user')} = u.{user_pk} AND d.{quoted(Device, 'public_id')} = %s"
    # Names from the models, values as parameters: nothing of a request's is formatted into SQL.
    sql = f"SELECT {columns} FROM {quoted(User)} u LEFT JOIN {device} d ON {join} WHERE u.{user_pk} = %s"  # noqa: S608
    return Select(sql, [*fields, (Device, "id"), (Device, "last_seen")])


def lookup(session, device_id):
    """``(user, (pk, last_seen) of the Device record ``device_id`` of that user, or None)``: the user
    as ``auth.get_user`` returns it for this session (AnonymousUser when none); None where the backend
    is not ModelBackend, for the caller to ask Django."""
    try:
        user_id = User._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        return AnonymousUser(), None
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return AnonymousUser(), None
    backend = load_backend(backend_path)
    if type(backend) is not ModelBackend:
        return None
    using = router.db_for_read(User)
    row = user_and_device().first([device_id if isinstance(device_id, str) else None, user_id], using)
    if row is None:
        return AnonymousUser(), None
    *user_values, device_pk, last_seen = row
    user = User.from_db(using, [field.attname for field in User._meta.concrete_fields], user_values)
    if not backend.user_can_authenticate(user) or not verified(session, user):
        return AnonymousUser(), None
    return user, None if device_pk is None else (device_pk, last_seen)


@contextmanager
def session_key_kept(request):
    """Around ``auth.get_user`` or ``lookup``: a login hash that only a SECRET_KEY_FALLBACKS key
    verifies gets the current key's hash, but the session keeps its key, and only a request that
    may change the session (it holds the session's lock) saves that
    (``shop.accounts.middleware.Authentication`` says why)."""
    session, modified = request.session, request.session.modified
    session.cycle_key = lambda: None  # get_user calls it only for a hash a fallback key verifies
    try:
        yield
    finally:
        del session.cycle_key
        if not may_change_session(request):
            session.modified = modified


def verified(session, user):
    """The session's auth hash against the user's, then SECRET_KEY_FALLBACKS': ``auth.get_user``'s
    steps, with its side effects (a fallback's match moves the session to the current key, which
    ``session_key_kept`` turns into a new hash only; no match flushes it)."""
    session_hash = session.get(HASH_SESSION_KEY)
    current = user.get_session_auth_hash()
    if session_hash and constant_time_compare(session_hash, current):
        return True
    if session_hash and any(
        constant_time_compare(session_hash, h) for h in user.get_session_auth_fallback_hash()
    ):
        session.cycle_key()
        session[HASH_SESSION_KEY] = current
        return True
    session.flush()
    return False
