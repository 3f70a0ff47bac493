"""Session fixation and SECRET_KEY rotation, on every engine (Django's test client).

Login cycles the session key, so a key planted before login is worth nothing after it. Every
engine signs what it stores (signed cookies sign the whole session, encrypted cookies encrypt and
authenticate it with a key derived from SECRET_KEY; the others sign the session data) and the
auth hash is keyed too, so a new SECRET_KEY alone logs everyone out, while the old key in
SECRET_KEY_FALLBACKS keeps every session through the rotation.
"""

import pytest
from django.test import Client

from shop.core.profiles import REGISTRY

# cache and cached_db over the default LocMemCache here
ENGINES = {name: p.engine for name, p in REGISTRY.items() if p.across_servers}
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
def test_secret_key_rotation_keeps_sessions_only_with_the_old_key_as_a_fallback(
    engine, user, settings, product
):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD_KEY, []
    browsers = []
    for _ in range(2):
        browser = Client()
        assert browser.login(username=user.username, password=PASSWORD)
        browsers.append(browser)
    rotated, broken = browsers
    cookie = rotated.cookies["sessionid"].value

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, [OLD_KEY]
    assert probe(rotated)["authenticated"] is True
    assert rotated.post(f"/cart/add/{product.pk}/", {"quantity": 1}).status_code == 302
    if not REGISTRY[engine].in_cookie:  # there the cookie is the session, made anew by every save
        assert (
            rotated.cookies["sessionid"].value == cookie
        )  # the same session key (middleware.Authentication)
    assert probe(rotated)["authenticated"] is True  # the write re-signed it with the new key...
    settings.SECRET_KEY_FALLBACKS = []
    assert probe(rotated)["authenticated"] is True  # ...so the old key can then be dropped
    assert probe(broken)["authenticated"] is False  # never seen during the rotation: logged out


@pytest.mark.django_db
@pytest.mark.parametrize("engine", ["db", "file", "cache", "cached_db"], indirect=True)
def test_two_tabs_adding_during_a_rotation_keep_both_lines_and_the_login(
    engine, user, settings, make_product
):
    """Issue 19: two tabs of a shopper signed in before a rotation post "add" at the same moment,
    with the cookie the browser holds, to a server that signs with the new key. The per-session lock
    runs the two requests one after the other, in this order: the first finds a login hash that
    only the old key verifies, the second has waited for the lock with the same cookie.

    Django's get_user re-keys such a session (cycle_key: the data under a new key, the old key
    deleted), so the second request found no session under its cookie: an anonymous new one took
    its line and its cookie, which the browser keeps as the last one set. The shopper was signed
    out and the first tab's acknowledged line was gone."""
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD_KEY, []
    browser = Client()
    assert browser.login(username=user.username, password=PASSWORD)
    cookie = browser.cookies["sessionid"].value
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, [OLD_KEY]

    answers = [
        with_cookie(Client(), cookie).post(f"/cart/add/{make_product().pk}/", {"quantity": 1}) for _ in "ab"
    ]
    assert [answer.status_code for answer in answers] == [302, 302]
    for answer in answers:  # the browser keeps the last cookie set
        if "sessionid" in answer.cookies:
            cookie = answer.cookies["sessionid"].value
    assert probe(with_cookie(Client(), cookie)) | {"authenticated": True, "cart_items": 2} == probe(
        with_cookie(Client(), cookie)
    )
