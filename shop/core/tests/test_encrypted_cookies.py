"""The encrypted_cookies engine on its own, without servers: a round trip, a key rotation, every cookie
it must refuse without raising, and what an attacker who copies the cookie can read in it."""

import base64
import time

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.signed_cookies import SessionStore as SignedCookieStore

from shop.cart.cart import CART_SESSION_KEY
from shop.core.session_backends.encrypted_cookies import SessionStore, key_ring
from shop.lab.session_info import read_without_key

OLD_KEY, NEW_KEY = "old-key-" + "o" * 50, "new-key-" + "n" * 50
USER_ID, PRODUCT_ID = "918273645", "7362514908"  # long and rare: found only if really there
SESSION = {SESSION_KEY: USER_ID, CART_SESSION_KEY: {PRODUCT_ID: 3}, "_device_id": "d3v1c3"}


@pytest.fixture(autouse=True)
def keys(settings):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD_KEY, []
    settings.SESSION_ENGINE = "shop.core.session_backends.encrypted_cookies"
    return settings


def saved(data, store_class=SessionStore):
    """The cookie a response would set for a session holding ``data``."""
    session = store_class()
    session.update(data)
    session.save()
    return session.session_key


def loaded(cookie):
    return SessionStore(cookie).load()


def test_a_saved_session_loads_back_on_any_server():
    cookie = saved(SESSION)
    assert loaded(cookie) == SESSION
    assert SessionStore(cookie)[CART_SESSION_KEY] == {PRODUCT_ID: 3}


def test_a_rotation_keeps_the_session_and_the_next_save_moves_it_to_the_new_key(keys):
    cookie = saved(SESSION)
    keys.SECRET_KEY, keys.SECRET_KEY_FALLBACKS = NEW_KEY, [OLD_KEY]  # phase 2: the old key is a fallback
    session = SessionStore(cookie)
    assert session.load() == SESSION
    session["seen"] = 1
    session.save()
    keys.SECRET_KEY_FALLBACKS = []  # the old key has expired
    assert loaded(session.session_key) == SESSION | {"seen": 1}
    assert loaded(cookie) == {}  # what only the old key opens is gone with it


def made(data, ago=0, key=OLD_KEY):
    """A cookie made ``ago`` seconds ago with ``key``: a copy replayed now."""
    made_at = int(time.time() - ago)
    return key_ring(key, ()).encrypt_at_time(SessionStore().serializer().dumps(data), made_at).decode()


def tampered(cookie):
    raw = bytearray(base64.urlsafe_b64decode(cookie))
    raw[len(raw) // 2] ^= 1  # one bit of the ciphertext
    return base64.urlsafe_b64encode(raw).decode()


def padded_token():
    """A valid cookie whose base64 ends in padding (Python's decoder ignores what follows it)."""
    cookies = (saved(SESSION | {"pad": "p" * n}) for n in range(0, 64, 8))
    return next(cookie for cookie in cookies if cookie.endswith("="))


REFUSED = {
    "tampered": lambda: tampered(saved(SESSION)),
    "truncated": lambda: saved(SESSION)[:-10],
    "padded token with more appended": lambda: padded_token() + "x" * 40,
    "foreign key": lambda: made(SESSION, key=NEW_KEY),
    "expired": lambda: made(SESSION, ago=15 * 24 * 3600),  # SESSION_COOKIE_AGE is 14 days
    "past its own set_expiry": lambda: made(SESSION | {"_session_expiry": 60}, ago=120),
    "empty": lambda: "",
    "40 a": lambda: "a" * 40,
    "a path": lambda: "../../etc/passwd",
    "5000 characters": lambda: "x" * 5000,
    "non-ASCII": lambda: "gAAAAAB€ünïcødé",
    "a signed cookie": lambda: saved(SESSION, SignedCookieStore),
}


@pytest.mark.parametrize("make", REFUSED.values(), ids=REFUSED)
def test_a_cookie_it_did_not_make_as_it_is_now_loads_nothing_and_raises_nothing(make):
    session = SessionStore(make())
    assert session.load() == {}
    assert session.modified  # the response replaces the cookie, or drops it


def test_set_expiry_longer_than_the_cookie_age_is_honoured(keys):
    keys.SESSION_COOKIE_AGE = 60
    assert loaded(made(SESSION | {"_session_expiry": 600}, ago=120)) == SESSION | {"_session_expiry": 600}


def test_an_attacker_reading_the_cookie_finds_no_user_id_and_no_product_id():
    cookie = saved(SESSION)
    assert read_without_key(cookie) is None  # as signed data: base64 of JSON, maybe compressed
    for text in (cookie, base64.urlsafe_b64decode(cookie).decode("latin-1")):  # as it is, and its bytes
        assert USER_ID not in text and PRODUCT_ID not in text
    # The same reading of a signed cookie finds both: it is a reading that would find them.
    assert read_without_key(saved(SESSION, SignedCookieStore)) == SESSION
