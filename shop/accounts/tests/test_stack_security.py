"""Revocation and login throttling through the real stack: nginx, three servers, real hashing.

A copied signed cookie is replayed from a fresh client each time (never from a jar the server
may have told to drop it), and requests spread over every server by round robin.
"""

import secrets

import pytest
from django.conf import settings

from shop.core.tests.stack_helpers import forget_login_failures
from tools.client import Browser, served_by

pytestmark = pytest.mark.stack

PASSWORD = "a-long-password-for-tests-7"
NEW_PASSWORD = "another-long-password-8"
SESSION_COOKIE = settings.SESSION_COOKIE_NAME


# Revoking a copied cookie is the signed_cookies story: the other engines keep sessions on the
# server, where logging out deletes them (shop/accounts/tests/test_revocation.py covers each).
signed_cookies = pytest.mark.parametrize("stack", ["signed_cookies"], indirect=True)


def sign_up(stack, source=None):
    """A new user, signed in on a device; returns (username, device)."""
    username = f"owner-{secrets.token_hex(4)}"
    device = Browser(stack.url, source_address=source)
    fields = {"username": username, "password1": PASSWORD, "password2": PASSWORD}
    assert device.submit("/accounts/signup/", "/accounts/signup/", fields).status_code == 302
    return username, device


def replay(stack, cookie, times=6):
    """Probe with a copy of ``cookie``, from a fresh client each time; the probes, by server."""
    probes = {}
    for _ in range(times):
        thief = Browser(stack.url)
        thief.set_cookie(SESSION_COOKIE, cookie)
        probe = thief.probe()
        probes.setdefault(probe["server"], []).append((probe["authenticated"], probe["username"]))
    return probes


@signed_cookies
def test_a_copied_signed_cookie_is_anonymous_after_logout_everywhere(stack):
    username, device = sign_up(stack)
    copied = device.cookie(SESSION_COOKIE)
    before = replay(stack, copied)
    assert set(before) == {"server1", "server2", "server3"}
    assert {answer for answers in before.values() for answer in answers} == {(True, username)}

    out = device.submit("/accounts/orders/", "/accounts/logout_everywhere/", {})
    assert out.status_code == 302

    after = replay(stack, copied)
    assert set(after) == {"server1", "server2", "server3"}
    assert {answer for answers in after.values() for answer in answers} == {(False, None)}


@signed_cookies
def test_plain_logout_signs_out_a_copied_signed_cookie_through_its_device_record(stack):
    """The trade-off the lab page explains: no server holds a signed-cookie session, so logging out
    only replaces this browser's cookie, and a copy would stay valid until it expires. The session's
    device record, which logging out deletes and every server checks, is what signs the copy out."""
    username, device = sign_up(stack)
    copied = device.cookie(SESSION_COOKIE)
    assert {answer for answers in replay(stack, copied, times=3).values() for answer in answers} == {
        (True, username)
    }
    assert device.submit("/", "/accounts/logout/", {}).status_code == 302
    assert not device.probe()["authenticated"]
    after = replay(stack, copied)
    assert set(after) == {"server1", "server2", "server3"}
    assert {answer for answers in after.values() for answer in answers} == {(False, None)}
    assert 'id="revocation"' in device.get("/lab/").text  # where the lab page explains this


@signed_cookies
def test_password_change_revokes_every_other_session_but_keeps_this_one(stack):
    username, device = sign_up(stack)
    copied = device.cookie(SESSION_COOKIE)
    fields = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert (
        device.submit("/accounts/password_change/", "/accounts/password_change/", fields).status_code == 302
    )

    here = [device.probe() for _ in range(3)]
    assert {probe["server"] for probe in here} == {"server1", "server2", "server3"}
    assert {(probe["authenticated"], probe["username"]) for probe in here} == {(True, username)}
    after = replay(stack, copied, times=3)
    assert {answer for answers in after.values() for answer in answers} == {(False, None)}


def log_in(browser, username, password, forwarded_for=None):
    """POST the login form; ``forwarded_for`` forges the X-Forwarded-For header nginx replaces."""
    page = browser.get("/accounts/login/")
    token = page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    fields = {"username": username, "password": password, "csrfmiddlewaretoken": token}
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = browser.post("/accounts/login/", data=fields, headers=headers)
    return response.status_code, served_by(response), response.text


@pytest.mark.parametrize("stack", ["signed_cookies", "locmem"], indirect=True)
def test_five_failures_on_any_servers_lock_the_user_and_the_address(stack):
    """Failures are counted in the database every server shares (django-axes' table). Under
    ``locmem`` each worker has its own cache, so a cache-based counter would allow five tries
    per worker: the database does not care which worker answered."""
    username, _ = sign_up(stack)
    attacker, elsewhere, another = "127.0.0.21", "127.0.0.22", "127.0.0.23"
    keys = [f"user:{username}", *(f"addr:{address}" for address in (attacker, elsewhere, another))]
    strangers = [f"nobody-{secrets.token_hex(3)}" for _ in range(5)]
    try:
        # Five wrong passwords for one user, from one address, answered by several servers; the
        # fifth is answered with the lockout at once.
        tries = [
            log_in(Browser(stack.url, source_address=attacker), username, "wrong-password") for _ in range(5)
        ]
        assert [status for status, _, _ in tries] == [200] * 4 + [429]
        assert len({server for _, server, _ in tries}) >= 2, tries
        # The sixth attempt is refused even with the right password, on any server, from any
        # address, and a forged X-Forwarded-For does not help: nginx replaces it.
        locked = [
            log_in(Browser(stack.url, source_address=attacker), username, PASSWORD),
            log_in(Browser(stack.url, source_address=elsewhere), username, PASSWORD),
            log_in(Browser(stack.url, source_address=attacker), username, PASSWORD, forwarded_for="10.9.8.7"),
        ]
        assert [status for status, _, _ in locked] == [429] * 3
        assert all("Too many failed logins" in text for _, _, text in locked)

        # Five failures from one address, each for a different (unknown) user, lock the address.
        keys += [f"user:{name}" for name in strangers]
        assert [
            log_in(Browser(stack.url, source_address=another), name, "guess")[0] for name in strangers
        ] == [200] * 4 + [429]
        other_user, _ = sign_up(stack)
        keys.append(f"user:{other_user}")
        assert log_in(Browser(stack.url, source_address=another), other_user, PASSWORD)[0] == 429
        assert log_in(Browser(stack.url, source_address=elsewhere), other_user, PASSWORD)[0] == 302
    finally:
        forget_login_failures(stack, *keys)
