"""Session fixation and SECRET_KEY rotation, on every engine (Django's test client).

Login cycles the session key, so a key planted before login is worth nothing after it. Every
engine signs what it stores (signed cookies sign the whole session; the others sign the
session data) and the auth hash is keyed too, so a new SECRET_KEY alone logs everyone out,
while the old key in SECRET_KEY_FALLBACKS keeps every session through the rotation.
"""

import pytest
from django.test import Client

ENGINES = {
    "db": "shop.core.session_backends.db",
    "cache": "shop.core.session_backends.cache",  # over the default LocMemCache here
    "cached_db": "shop.core.session_backends.cached_db",
    "file": "django.contrib.sessions.backends.file",
    "signed_cookies": "django.contrib.sessions.backends.signed_cookies",
}
PASSWORD = "correct-horse-battery"
OLD_KEY, NEW_KEY = "old-key-" + "o" * 50, "new-key-" + "n" * 50


@pytest.fixture(params=list(ENGINES))
def engine(request, settings, tmp_path):
    settings.SESSION_ENGINE = ENGINES[request.param]
    settings.SESSION_FILE_PATH = str(tmp_path)
    return request.param


def probe(client):
    return client.get("/lab/probe").json()


def with_cookie(client, cookie):
    client.cookies["sessionid"] = cookie
    return client


@pytest.mark.django_db
def test_login_cycles_the_session_key_so_a_planted_one_is_worthless(engine, user, product):
    browser = Client()
    browser.post(f"/cart/add/{product.pk}/", {"quantity": 1})
    planted = browser.cookies["sessionid"].value  # what an attacker could have set in the victim's browser
    response = browser.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302

    assert browser.cookies["sessionid"].value != planted
    assert probe(browser) | {"authenticated": True, "cart_items": 1} == probe(browser)  # cart kept
    assert probe(with_cookie(Client(), planted))["authenticated"] is False


@pytest.mark.django_db
def test_secret_key_rotation_keeps_sessions_only_with_the_old_key_as_a_fallback(engine, user, settings):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD_KEY, []
    browsers = []
    for _ in range(2):
        browser = Client()
        assert browser.login(username=user.username, password=PASSWORD)
        browsers.append(browser)
    rotated, broken = browsers

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, [OLD_KEY]
    assert probe(rotated)["authenticated"] is True
    assert probe(rotated)["authenticated"] is True  # re-signed with the new key meanwhile...
    settings.SECRET_KEY_FALLBACKS = []
    assert probe(rotated)["authenticated"] is True  # ...so the old key can then be dropped
    assert probe(broken)["authenticated"] is False  # never seen during the rotation: logged out
