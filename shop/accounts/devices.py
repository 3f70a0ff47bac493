"""Where a user is signed in: a Device record per signed-in session, checked on every request.

Signing in creates the record and puts its id in the session; every request of a signed-in
session must name a record of its user that still exists, else it is logged out. Deleting a record
therefore ends that one session, whichever engine keeps it. For the server-side engines that is a
convenience (the session could be deleted instead); for the cookie profiles it is the only way, since
the browser holds the whole session and no server could otherwise take a copied cookie back. The
price is one indexed query per signed-in request, in every profile, and a write at most once a
minute per session (``last_seen``).

The check is lazy, like Django's own ``request.user``: it runs when something first asks who the
user is, so ``/healthz`` and other pages that never ask do not pay for it.

Sessions signed in before records existed carry no device id: they are logged out once, keeping
their cart, rather than given a record on first sight. A record made on first sight would be made
again for every request of a client that does not keep the new cookie (a replayed signed cookie),
each one pushing a real session out of the per-user cap.
"""

from functools import partial

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, logout
from django.core.exceptions import MiddlewareNotUsed
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from shop.core import metrics

from . import signed_in
from .lifetime import SIGNED_IN_AT
from .lockout import client_address
from .models import Device

DEVICE_SESSION_KEY = "_device_id"
USER_AGENT_LENGTH = Device._meta.get_field("user_agent").max_length
AUTH_KEYS = frozenset({SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY, DEVICE_SESSION_KEY, SIGNED_IN_AT})
ENDED = "You were signed out: this session was ended from another one, or by signing out."
SIGN_IN_AGAIN = "Please sign in again: the shop now lists where you are signed in. Your cart is kept."


def seen_from(request):
    if request is None:
        return {}
    return {
        "ip_address": client_address(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LENGTH],
    }


def start_device(session, user, request=None):
    """A record for a session that has just signed in, its id in the session; the user's records
    beyond the cap (the least recently seen) and those past the session lifetime are deleted."""
    previous = session.get(DEVICE_SESSION_KEY)
    if previous:  # signed in again on the same session: this record replaces the old one
        Device.objects.filter(public_id=previous, user=user).delete()
    device = Device.objects.create(user=user, **seen_from(request))
    session[DEVICE_SESSION_KEY] = device.public_id
    newest = Device.objects.live().filter(user=user).order_by("-last_seen", "-pk")
    keep = list(newest.values_list("pk", flat=True)[: Device.MAX_PER_USER])
    Device.objects.filter(user=user).exclude(pk__in=keep).delete()
    return device


def on_login(sender, request, user, **kwargs):
    start_device(request.session, user, request)


def on_logout(sender, request, user, **kwargs):
    """Logging out ends the record, so a copy of this session's cookie is signed out as well."""
    device_id = request.session.get(DEVICE_SESSION_KEY)
    if user is not None and device_id:
        Device.objects.filter(public_id=device_id, user=user).delete()


def end_other_devices(request, user):
    """Delete every record of ``user`` but this session's: every other session is signed out."""
    Device.objects.filter(user=user).exclude(public_id=request.session.get(DEVICE_SESSION_KEY)).delete()


def device_check(get_response):
    """After AuthenticationMiddleware (and MessageMiddleware): a signed-in session whose record is
    gone is logged out, when the request first asks who the user is."""
    if not settings.SHOP_DEVICE_CHECKS:
        raise MiddlewareNotUsed

    def middleware(request):
        request.user = SimpleLazyObject(partial(checked_user, request, request.user))
        return get_response(request)

    return middleware


def sign_out(request, user, message, keep_the_rest=True):
    """Log ``user`` out of this request's session and say why; keep what is not the sign-in (the
    cart) unless told not to. For the lazy user checks: returns the anonymous user now signed out."""
    kept = {k: v for k, v in request.session.items() if k not in AUTH_KEYS} if keep_the_rest else {}
    request.user = user  # logout() asks request.user, which must not be the lazy object being evaluated
    logout(request)
    request.session.update(kept)
    messages.info(request, message, fail_silently=True)
    return request.user


def checked_user(request, user):
    session, prefetched = request.session, None
    # The user and the record in one statement (signed_in.py), handed to the auth middleware as what
    # it would have found, so that every lazy check between it and this one still runs; not where
    # there is no session to read (a visitor without a cookie: reading would add Vary: Cookie) or
    # something asked Django already.
    if session.session_key is not None and not hasattr(request, "_cached_user"):
        with signed_in.session_key_kept(request):
            prefetched = signed_in.lookup(session, session.get(DEVICE_SESSION_KEY))
        if prefetched is not None:
            request._cached_user = prefetched[0]
    if not user.is_authenticated:
        return user
    device_id = session.get(DEVICE_SESSION_KEY)
    if prefetched is not None and prefetched[0].pk == user.pk:
        seen = prefetched[1]
    else:
        seen = device_seen(user, device_id)
    metrics.device_check(seen is not None)
    if seen is None:
        # Ended elsewhere: signed out. Signed in before records existed: signed out, keeping the cart.
        return sign_out(request, user, ENDED if device_id else SIGN_IN_AGAIN, keep_the_rest=not device_id)
    pk, last_seen = seen
    now = timezone.now()
    if now - last_seen >= Device.SEEN_EVERY:
        Device.objects.filter(pk=pk).update(last_seen=now, **seen_from(request))
    return user


def device_seen(user, device_id):
    """(pk, last_seen) of the user's record ``device_id``; None if it is gone."""
    if not isinstance(device_id, str):
        return None
    return Device.objects.filter(public_id=device_id, user_id=user.pk).values_list("pk", "last_seen").first()
