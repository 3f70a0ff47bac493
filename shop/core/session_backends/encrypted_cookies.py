"""Profile ``encrypted_cookies``'s engine: the session is the browser's cookie, encrypted and authenticated.

Django's ``signed_cookies`` engine with its signing swapped for encryption: the cookie is a Fernet
token (``cryptography``) of the session's JSON, so whoever sees it (a proxy's log, a shared
computer, a browser extension) learns its length and nothing else, where a signed cookie shows the
user id, the cart and the Device id to anyone. Every other behaviour is the signed engine's: no
server keeps anything, the browser keeps the whole session, and a copied cookie is revoked by its
Device record (``shop/accounts/devices.py``), as under ``signed_cookies``.

Fernet (MultiFernet), not AES-GCM:
- Key rotation is MultiFernet's own shape: encrypt with the first key, decrypt with any. That is
  ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS``, so ``runstack --rotate-secret-key``'s two phases keep
  every session here exactly as they do for signed cookies.
- The token carries its creation time under the MAC: expiry works as ``signing``'s ``max_age`` does,
  with nothing of our own to add and authenticate.
- A random 128-bit IV per token for AES-CBC, then HMAC-SHA256 over it all. AES-GCM's 96-bit random
  nonces are safe for about 2**32 encryptions per key (NIST SP 800-38D), and every session save on
  every server is one; a repeated nonce under GCM gives away the authentication key. Fernet has no
  such cliff, and nothing to get wrong when calling it.
- What it costs: 57 bytes (version, time, IV, MAC) and up to 16 of padding before base64, about
  100 bytes of cookie more than GCM would take; and AES-CBC plus HMAC per request, measured against
  signing in docs/BENCHMARKS.md.

Keys: one Fernet key (AES-128 and HMAC-SHA256 halves) per secret, derived with HKDF-SHA256 from
``SECRET_KEY`` and each of ``SECRET_KEY_FALLBACKS``, with this module's name as HKDF's ``info``: the
derived key serves this purpose only, and nothing else the shop does with SECRET_KEY (signing, the
auth hash) uses it.

No compression before encrypting, where signed cookies compress: compressed length depends on
content, so a cookie's length could tell a watcher what it holds (CRIME, BREACH), and what a
shopper chooses (products, quantities) is what the session holds. ASP.NET's data protection does
not compress either. The length still shows the session's size in 16-byte steps, roughly how many
cart lines it has, and no more. At the cart's 50-line cap the cookie is about 2,150 bytes (1,160
signed and compressed), well under a browser's 4096 (shop/cart/tests/test_cookie_size.py).

Expiry: a cookie older than the session's expiry age (``SESSION_COOKIE_AGE``, or what
``set_expiry`` set, which is inside the token too) does not load: a replayed old cookie is an
anonymous visitor, as are a tampered, truncated or foreign-key cookie.
"""

import base64
import functools
import re
from datetime import UTC, datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.contrib.sessions.backends.signed_cookies import SessionStore as SignedCookieStore
from django.utils import timezone

PURPOSE = __name__.encode()
# A token as Fernet writes it. Python's base64 decoder stops at the padding, so without this check
# a token with anything appended after its "=" would still decrypt.
TOKEN = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def fernet_for(secret):
    """The Fernet key this engine derives from one secret (a SECRET_KEY or one of its fallbacks)."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


@functools.lru_cache(maxsize=4)
def key_ring(secret, fallbacks):
    """Encrypts with ``secret``'s key; decrypts with it or any of the ``fallbacks``' keys."""
    return MultiFernet([fernet_for(key) for key in (secret, *fallbacks)])


def current_key_ring():
    return key_ring(settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


class SessionStore(SignedCookieStore):
    def load(self):
        try:
            return self._decrypt(self.session_key)
        except (InvalidToken, TypeError, ValueError):  # no cookie, not a token, wrong key, expired
            self.create()  # as the signed engine does: the response replaces or drops this cookie
            return {}

    def _decrypt(self, token):
        if not TOKEN.fullmatch(token):
            raise InvalidToken("not a token as Fernet writes it")
        ring = current_key_ring()
        data = self.serializer().loads(ring.decrypt(token))
        made = datetime.fromtimestamp(ring.extract_timestamp(token), UTC)
        expires = self.get_expiry_date(modification=made, expiry=data.get("_session_expiry"))
        if expires < timezone.now():
            raise InvalidToken("expired")
        return data

    def _get_session_key(self):
        """The cookie: the session encrypted with the current key (the signed engine signs here)."""
        return current_key_ring().encrypt(self.serializer().dumps(self._session)).decode()
