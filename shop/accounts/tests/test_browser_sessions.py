"""Where am I signed in, in Chromium: one browser signs the other out, through nginx and three servers.

Signed cookies, where the device record is the only thing a server can take back. Screenshots of
the sessions page (desktop and a 390 px phone) land in test-artifacts/browser/<test>/.
"""

import secrets

import pytest
from playwright.sync_api import expect

from shop.lab.tests.browser import PHONE, chromium, open_tab  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.stack, pytest.mark.browser]

STACK = {"profile": "signed_cookies", "servers": 3, "workers": 2}
PASSWORD = "a-long-password-for-browsers-9"


def submit(tab, fields, button):
    for name, value in fields.items():
        tab.page.locator(f"input[name={name}]").fill(value)
    page = tab.page
    with page.expect_response(lambda r: r.request.method == "POST") as answer, page.expect_navigation():
        page.get_by_role("button", name=button).click()
    assert answer.value.status == 302, f"{button}: HTTP {answer.value.status}"


def test_the_sessions_page_signs_out_the_other_browser(chromium, stack, open_tab):  # noqa: F811
    username = f"tabs-{secrets.token_hex(3)}"
    laptop, phone = open_tab(stack), open_tab(stack)
    laptop.page.goto("/accounts/signup/")
    submit(laptop, {"username": username, "password1": PASSWORD, "password2": PASSWORD}, "Sign up")
    phone.page.goto("/accounts/login/")
    submit(phone, {"username": username, "password": PASSWORD}, "Log in")

    # From the orders page's link, the laptop sees both sessions, itself marked.
    laptop.page.goto("/accounts/orders/")
    laptop.page.get_by_role("link", name="Where you are signed in").click()
    expect(laptop.page.get_by_test_id("device")).to_have_count(2)
    expect(laptop.page.get_by_test_id("this-device")).to_have_count(1)
    expect(laptop.page.get_by_role("button", name="Sign out this session")).to_have_count(1)
    laptop.screenshot("sessions")
    assert laptop.screenshot("sessions-phone", PHONE) <= 0, "the sessions page scrolls sideways on a phone"

    submit(laptop, {}, "Sign out this session")
    expect(laptop.page.get_by_text("That session is signed out")).to_be_visible()
    expect(laptop.page.get_by_test_id("device")).to_have_count(1)
    expect(laptop.page.get_by_role("button", name="Sign out this session")).to_have_count(0)

    # The phone's next page, from whichever server, is no longer signed in; the laptop still is.
    phone.page.goto("/accounts/orders/")
    assert phone.path.startswith("/accounts/login/")
    expect(phone.page.get_by_text("You were signed out: this session was ended")).to_be_visible()
    phone.screenshot("signed-out")
    laptop.page.goto("/accounts/orders/")
    assert laptop.path == "/accounts/orders/"
    expect(laptop.page.locator(".who")).to_have_text(username)

    for tab in (laptop, phone):
        assert tab.console_errors == []  # the strict CSP refused nothing
        assert tab.server_errors == []
    assert len({served.split(":")[0] for served in laptop.answered_by + phone.answered_by}) == 3
