"""The admin through the real stack (nginx, three servers, real password hashing): its login is
throttled like the shop's, whichever server answers."""

import secrets

import pytest

from shop.lab.tests.stack_tools import client, forget_login_failures

pytestmark = pytest.mark.stack

PASSWORD = "a-long-password-for-tests-7"
LOCKED = "Too many failed logins. Please wait 15 minutes and try again."
SERVERS = {"server1", "server2", "server3"}
ATTACKER, ELSEWHERE = "127.0.0.51", "127.0.0.52"


@pytest.fixture(scope="module")
def stack(start_stack):
    stack = start_stack("db", servers=3, workers=1)
    yield stack
    stack.stop()


def make_staff(stack):
    """A superuser with a real (PBKDF2) password, made with the servers' settings; its name."""
    username = f"staff-{secrets.token_hex(4)}"
    stack.manage("shell", "--no-imports", "-c", (
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_superuser({username!r}, password={PASSWORD!r})"
    ))  # fmt: skip
    return username


def admin_log_in(browser, username, password):
    """Post the admin's login form as a browser does: (status, server that answered, page)."""
    fields = {"username": username, "password": password}
    response = browser.submit("/admin/login/", "/admin/login/?next=/admin/", fields)
    return response.status, (response.header("X-Served-By") or "?").split(":")[0], response.text


def test_five_failed_admin_logins_over_three_servers_lock_the_next_on_every_server(stack):
    staff = make_staff(stack)
    try:
        tries = [admin_log_in(client(stack, ATTACKER), staff, "wrong-password") for _ in range(5)]
        assert [status for status, _, _ in tries] == [200] * 4 + [429]  # the fifth says so at once
        assert {server for _, server, _ in tries} == SERVERS
        assert all("Please enter the correct username and password" in text for _, _, text in tries[:4])

        # Then the right password is refused too, by every server, from any address.
        locked, answered_by = [], set()
        for n in range(9):
            status, server, text = admin_log_in(client(stack, (ATTACKER, ELSEWHERE)[n % 2]), staff, PASSWORD)
            locked.append((status, LOCKED in text))
            answered_by.add(server)
            if answered_by == SERVERS:
                break
        assert answered_by == SERVERS
        assert set(locked) == {(429, True)}
    finally:
        forget_login_failures(stack, f"user:{staff}", f"addr:{ATTACKER}", f"addr:{ELSEWHERE}")
    assert admin_log_in(client(stack, ELSEWHERE), staff, PASSWORD)[0] == 302

