"""Profile ``signed_cookies``: the session is the browser's cookie, signed with SECRET_KEY.

The servers keep no session state at all. The data is signed, not encrypted (anyone
holding the cookie can read it), and a copied cookie stays valid until it expires.
"""

from .base import *  # noqa: F403
from .base import profile_settings

globals().update(profile_settings("signed_cookies"))
