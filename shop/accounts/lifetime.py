"""The absolute session lifetime: a signed-in session ends SHOP_SESSION_MAX_AGE seconds after sign-in.

Django ends a session after ``SESSION_COOKIE_AGE`` (counted from the last request with
``SESSION_SAVE_EVERY_REQUEST``: an idle timeout), but nothing ends a session that stays busy. So
signing in writes its time into the session itself (``login()``'s ``user_logged_in`` signal), and
``shop.accounts.middleware.session_max_age`` signs the session out once it is older. Kept in the
session, the time needs no query to check and travels with it: inside the signed cookie under the
cookie profiles (so a browser cannot change it), from store to store during a live switch. It is
written whether or not a maximum age is set, so that turning one on later finds it everywhere.
"""

import time

SIGNED_IN_AT = "_signed_in_at"  # epoch seconds: a small integer, cheap in a cookie


def remember_sign_in(session, at=None):
    session[SIGNED_IN_AT] = int(time.time() if at is None else at)


def on_sign_in(sender, request, user, **kwargs):
    remember_sign_in(request.session)


def too_old(session, max_age):
    """Whether the session signed in at least ``max_age`` seconds ago.

    A signed-in session without the time signed in before the shop wrote it: it is too old, since
    counting from the first request that sees it would let a replayed copy of a cookie, which is
    never given the time, live for ever.
    """
    signed_in_at = session.get(SIGNED_IN_AT)
    if not isinstance(signed_in_at, int):
        return True
    return time.time() - signed_in_at >= max_age
