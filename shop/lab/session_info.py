"""What the current session costs the browser, and what its cookie tells whoever holds it, for the lab page.

This is the one place that looks at the engine: the lab exists to report it.
"""

import binascii
import json
import zlib

from django.conf import settings
from django.core import signing

from shop.core.profiles import profile


def read_without_key(cookie):
    """What anyone holding ``cookie`` reads in it without a key, or None if it reads as nothing.

    Signed data (``django.core.signing``, the signed_cookies engine) is the base64 of its JSON,
    zlib-compressed when that is shorter (then it starts with "."), before the first ":": readable
    by whoever sees the cookie, key or no key. An encrypted cookie, like a server-side key, decodes
    to bytes that mean nothing.
    """
    payload = cookie.split(":", 1)[0]
    try:
        data = signing.b64_decode(payload.removeprefix(".").encode())
        return json.loads(zlib.decompress(data) if payload.startswith(".") else data)
    except (binascii.Error, ValueError, zlib.error):  # UnicodeDecodeError, JSONDecodeError are ValueErrors
        return None


def session_cookie_report(request):
    """The session cookie's name and size; for a profile whose cookie is the session, what a reader of
    it learns (``payload``: the readable data, or None: nothing but its length); and whether this
    server accepts the cookie (a tampered, expired or foreign-key one it does not)."""
    value = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    report = {
        "name": settings.SESSION_COOKIE_NAME,
        "bytes": len(value.encode()),
        "in_cookie": bool(value) and profile(settings.SHOP_PROFILE).in_cookie,
        "payload": None,
        # A session cookie is only ever set for a session with data: one that loads none is refused.
        "accepted": not value or bool(request.session.items()),
    }
    if report["in_cookie"]:
        data = read_without_key(value)
        if data is not None:
            report["payload"] = json.dumps(data, indent=2, sort_keys=True)
    return report
