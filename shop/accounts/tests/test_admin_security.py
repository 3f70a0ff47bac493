"""The admin through the real stack (nginx, three servers, real password hashing): its login is
throttled like the shop's, whichever server answers, and saving a user in it cannot bring back
sessions that "log out of all devices" ended."""

import secrets

import pytest
from django.conf import settings

from shop.catalog.tests.html_form import form_fields
from shop.core.tests.stack_helpers import forget_login_failures, logged_in, sql
from tools.client import Browser

from .admin_tools import PASSWORD, admin_log_in, make_staff

pytestmark = pytest.mark.stack

LOCKED = "Too many failed logins. Please wait 15 minutes and try again."
SERVERS = {"server1", "server2", "server3"}
ATTACKER, ELSEWHERE, ADMIN_DESK = "127.0.0.51", "127.0.0.52", "127.0.0.53"


def test_five_failed_admin_logins_over_three_servers_lock_the_next_on_every_server(stack):
    staff = make_staff(stack)
    try:
        tries = [
            admin_log_in(Browser(stack.url, source_address=ATTACKER), staff, "wrong-password")
            for _ in range(5)
        ]
        assert [status for status, _, _ in tries] == [200] * 4 + [429]  # the fifth says so at once
        assert {server for _, server, _ in tries} == SERVERS
        assert all("Please enter the correct username and password" in text for _, _, text in tries[:4])

        # Then the right password is refused too, by every server, from any address.
        locked, answered_by = [], set()
        for n in range(9):
            status, server, text = admin_log_in(
                Browser(stack.url, source_address=(ATTACKER, ELSEWHERE)[n % 2]), staff, PASSWORD
            )
            locked.append((status, LOCKED in text))
            answered_by.add(server)
            if answered_by == SERVERS:
                break
        assert answered_by == SERVERS
        assert set(locked) == {(429, True)}
    finally:
        forget_login_failures(stack, f"user:{staff}", f"addr:{ATTACKER}", f"addr:{ELSEWHERE}")
    assert admin_log_in(Browser(stack.url, source_address=ELSEWHERE), staff, PASSWORD)[0] == 302


def test_an_admin_save_of_a_user_form_opened_before_logout_everywhere_keeps_sessions_revoked(stack):
    admin = Browser(stack.url, source_address=ADMIN_DESK)
    assert admin_log_in(admin, make_staff(stack), PASSWORD)[0] == 302
    username = f"shopper-{secrets.token_hex(4)}"
    (shopper,) = logged_in(stack, [username])
    copied = shopper.cookie(settings.SESSION_COOKIE_NAME)
    user_id = sql(stack, "SELECT id FROM accounts_user WHERE username = %s", username)[0][0]
    url = f"/admin/accounts/user/{user_id}/change/"
    form = form_fields(admin.get(url).text, "user_form")  # opened before the shopper's click

    assert shopper.submit("/accounts/orders/", "/accounts/logout_everywhere/", {}).status_code == 302
    saved = admin.post(url, data=form | {"first_name": "Renamed", "_save": "Save"})
    assert saved.status_code == 302, saved.text[:500]

    assert sql(stack, "SELECT first_name, session_epoch FROM accounts_user WHERE id = %s", user_id) == [
        ("Renamed", 1)
    ]
    for _ in range(3):  # any server
        thief = Browser(stack.url)
        thief.set_cookie(settings.SESSION_COOKIE_NAME, copied)
        assert thief.probe()["authenticated"] is False
