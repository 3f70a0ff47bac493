"""Who the visitor is, without reading a session that cannot exist, and for no longer than allowed."""

from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import MiddlewareNotUsed
from django.utils.functional import SimpleLazyObject
from django.utils.timesince import timesince

from .devices import sign_out
from .lifetime import too_old


def anonymous_without_session(get_response):
    """A request without a session cookie is an anonymous visitor: say so without asking the session.

    Reading the session, even an empty one, makes SessionMiddleware add ``Vary: Cookie``;
    a catalog page that does not is the same for every visitor without a session cookie,
    which is what lets nginx serve it from its cache (docs/ARCHITECTURE.md, "Caching").
    ``login()`` later in the request still sets the user it logs in.
    """

    def middleware(request):
        if request.session.session_key is None:
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
