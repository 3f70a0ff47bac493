"""Profile ``encrypted_cookies``: the session is the browser's cookie, encrypted and authenticated.

The servers keep no session state, as with signed_cookies, but whoever sees the cookie learns
nothing from it but its length (shop/core/session_backends/encrypted_cookies.py says how and why).
Like a signed cookie, a copied one stays valid until it expires unless its Device record is deleted.
"""

from .base import *  # noqa: F403
from .base import profile_settings

globals().update(profile_settings("encrypted_cookies"))
