"""Where am I signed in, and signing out one session, through nginx and three servers.

Every profile that keeps a session across servers, signed cookies included: there the device
record is the only thing any server can take back. (``locmem`` loses the session itself first.)
"""

import re
import secrets

import pytest
from django.conf import settings

from shop.core.profiles import REGISTRY
from tools.client import Browser

pytestmark = pytest.mark.stack

PASSWORD = "a-long-password-for-tests-7"
SESSION_COOKIE = settings.SESSION_COOKIE_NAME
END_FORM = re.compile(r'action="/accounts/sessions/([^/"]+)/end/"')
LAPTOP = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
PHONE = "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 Chrome/141.0.0.0 Mobile Safari/537.36"


def device(stack, agent, source=None):
    browser = Browser(stack.url, source_address=source)
    browser.headers["User-Agent"] = agent
    return browser


def sign_up(stack, agent=LAPTOP):
    username = f"devices-{secrets.token_hex(4)}"
    browser = device(stack, agent)
    fields = {"username": username, "password1": PASSWORD, "password2": PASSWORD}
    assert browser.submit("/accounts/signup/", "/accounts/signup/", fields).status_code == 302
    return username, browser


def log_in(stack, username, agent, source):
    browser = device(stack, agent, source)
    fields = {"username": username, "password": PASSWORD}
    assert browser.submit("/accounts/login/", "/accounts/login/", fields).status_code == 302
    return browser


def sessions_page(browser):
    page = browser.get("/accounts/sessions/")
    assert page.status_code == 200, page.status_code
    return page.text


def who_on_each_server(browser, times=3):
    return {(p["server"], p["authenticated"], p["username"]) for p in (browser.probe() for _ in range(times))}


@pytest.mark.parametrize("stack", [p.name for p in REGISTRY.values() if p.across_servers], indirect=True)
def test_two_sessions_see_each_other_and_one_signs_the_other_out_alone(stack):
    username, laptop = sign_up(stack)
    phone = log_in(stack, username, PHONE, source="127.0.0.5")
    stranger_name, stranger = sign_up(stack)

    # Each sees both, itself marked, with a form for the other only.
    seen_by_laptop, seen_by_phone = sessions_page(laptop), sessions_page(phone)
    for page in (seen_by_laptop, seen_by_phone):
        assert page.count('data-testid="device"') == 2 and page.count('data-testid="this-device"') == 1
        assert "Firefox on Linux" in page and "Chrome on Android" in page
        assert "127.0.0.5" in page and "127.0.0.1" in page  # the addresses nginx saw
    [phone_id], [laptop_id] = END_FORM.findall(seen_by_laptop), END_FORM.findall(seen_by_phone)
    assert phone_id != laptop_id
    [stranger_id] = END_FORM.findall(sessions_page(log_in(stack, stranger_name, PHONE, "127.0.0.6")))

    # A forged id, or another user's, is a 404 and signs nobody out.
    for forged in (stranger_id, secrets.token_urlsafe(16), "x" * 300):
        refused = laptop.submit("/accounts/sessions/", f"/accounts/sessions/{forged}/end/", {})
        assert refused.status_code == 404, forged
    assert {answer[1:] for answer in who_on_each_server(stranger)} == {(True, stranger_name)}
    assert {answer[1:] for answer in who_on_each_server(phone)} == {(True, username)}

    # The laptop signs the phone out: a copy of the phone's cookie is out on every server, and so
    # is the phone's next request; the laptop stays signed in everywhere.
    copied = phone.cookie(SESSION_COOKIE)
    ended = laptop.submit("/accounts/sessions/", f"/accounts/sessions/{phone_id}/end/", {})
    assert (ended.status_code, ended.headers["Location"]) == (302, "/accounts/sessions/")
    thieves = [Browser(stack.url) for _ in range(3)]
    for thief in thieves:
        thief.set_cookie(SESSION_COOKIE, copied)
    answers = {(p["server"], p["authenticated"]) for p in (thief.probe() for thief in thieves)}
    assert answers == {("server1", False), ("server2", False), ("server3", False)}
    assert not phone.probe()["authenticated"]
    assert phone.get("/accounts/sessions/").headers["Location"].startswith("/accounts/login/")
    assert who_on_each_server(laptop) == {(f"server{k}", True, username) for k in (1, 2, 3)}
    page = sessions_page(laptop)
    assert page.count('data-testid="device"') == 1 and not END_FORM.findall(page)
