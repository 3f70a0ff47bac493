"""Who the visitor is: without reading a session that cannot exist, across a key rotation, and for no
longer than allowed."""

from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware, get_user
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import MiddlewareNotUsed
from django.utils.functional import SimpleLazyObject
from django.utils.timesince import timesince

from shop.core.session_lock import may_change_session

from .devices import sign_out
from .lifetime import too_old
from .signed_in import session_key_kept


def anonymous_without_session(get_response):
    """A request without a session cookie is an anonymous visitor: say so without asking the session.

    Reading the session, even an empty one, makes SessionMiddleware add ``Vary: Cookie``;
    a catalog page that does not is the same for every visitor without a session cookie,
    which is what lets nginx serve it from its cache (docs/ARCHITECTURE.md, "Caching").
    ``login()`` later in the request still sets the user it logs in.

    Only a session not read yet says so by its key: reading may leave a session that is there
    without one until it is saved (a cookie session moving into a server-side store during a
    switch, which ``Authentication`` reads first while SECRET_KEY_FALLBACKS are set). Asked after
    that, such a signed-in shopper was anonymous for one request (a soak's "end this device" was sent
    to the login page).
    """

    def middleware(request):
        if not request.session.accessed and request.session.session_key is None:
            request.user = AnonymousUser()
        return get_response(request)

    return middleware


def session_max_age(get_response):
    """After MessageMiddleware, before the device check: a session signed in SHOP_SESSION_MAX_AGE
    seconds ago or more is signed out, keeping its cart, however busy it is (shop/accounts/lifetime.py).

    Lazy, like the device check it runs before: when the request first asks who the user is. It reads
    one value of the session the sign-in is read from anyway, so it costs no query, and a session
    it signs out costs the device check none either.
    """
    max_age = settings.SHOP_SESSION_MAX_AGE
    if max_age is None:
        raise MiddlewareNotUsed
    message = (
        f"You were signed out: a sign-in lasts {in_words(max_age)} at most, however busy you are. "
        "Please sign in again; your cart is kept."
    )

    def middleware(request):
        request.user = SimpleLazyObject(partial(within_max_age, request, request.user, max_age, message))
        return get_response(request)

    return middleware


def in_words(seconds):
    """3600 -> "1 hour", 90000 -> "1 day, 1 hour" (Django's timesince), under two minutes in seconds."""
    if seconds < 120:
        return f"{seconds} seconds"
    now = datetime.now(UTC)
    return timesince(now - timedelta(seconds=seconds), now)


def within_max_age(request, user, max_age, message):
    if user.is_authenticated and too_old(request.session, max_age):
        return sign_out(request, user, message)
    return user


class Authentication(AuthenticationMiddleware):
    """Django's AuthenticationMiddleware, except that a SECRET_KEY rotation keeps each session's key.

    A session signed in before a rotation holds a login hash made with the old key. Django's
    ``get_user`` accepts it through SECRET_KEY_FALLBACKS, stores the new key's hash and re-keys the
    session (``cycle_key``: the data under a new session key, the old key deleted). Another request
    of that session already on its way with the old cookie (a second tab waiting for the session's
    lock, shop/core/session_lock.py) then finds no session: it starts an anonymous one, whose cookie
    the browser keeps as the last one set, and the shopper is signed out and loses the other tab's
    change (issue 19). During phase 2 of a rotation the servers still on phase 1 accept the new key
    as their fallback, so round robin re-keys a session on nearly every request.

    Keeping the key is safe: a session key is a random name the server made, neither derived from
    nor signed with the SECRET_KEY (under ``signed_cookies`` re-keying is only the next save, which
    signs with the new key anyway). A rotation protects what the key signs; whoever holds a session
    cookie held that session before the rotation, and a new key would only go to whichever of its
    holders asked first. Signing in still re-keys (``login``), as a password change does.

    The new hash is stored by the next request that may change the session, which holds its lock:
    while fallback keys are accepted such a request asks for the user even if its view would not.
    A read keeps the new hash in memory only, so it never saves a session without the lock (during
    phase 2 it would on nearly every request, racing the writes of the shopper's other tabs).
    """

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: user_keeping_session_key(request))
        writes = may_change_session(request) and request.session.session_key
        if writes and settings.SECRET_KEY_FALLBACKS:
            request.user.is_authenticated  # noqa: B018 (a lazy object: this loads it)


def user_keeping_session_key(request):
    with session_key_kept(request):
        return get_user(request)
