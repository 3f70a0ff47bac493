"""What the current session costs the browser, for the lab page.

This is the one place that looks at the engine: the lab exists to report it.
"""

import json

from django.conf import settings
from django.core import signing

SIGNED_COOKIES_ENGINE = "django.contrib.sessions.backends.signed_cookies"


def session_cookie_report(request):
    """The session cookie's name and size, and for signed cookies the readable payload."""
    value = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    report = {"name": settings.SESSION_COOKIE_NAME, "bytes": len(value.encode()), "payload": None}
    if value and settings.SESSION_ENGINE == SIGNED_COOKIES_ENGINE:
        try:
            data = signing.loads(value, salt=SIGNED_COOKIES_ENGINE, serializer=signing.JSONSerializer)
            report["payload"] = json.dumps(data, indent=2, sort_keys=True)
        except signing.BadSignature:
            report["payload"] = "(signature does not verify: this server treats you as a new visitor)"
    return report
