"""Login throttling: every way in (the shop's login, the admin's, any ``authenticate()`` with a
request) counts its failures in one table that every server shares, and five failures per
username or per client address lock that username or address out for 15 minutes (429)."""

import datetime
import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import Client, RequestFactory

pytestmark = pytest.mark.django_db

FAILURE_LIMIT = 5
PASSWORD = "correct-horse-battery"
LOCKED = "Too many failed logins. Please wait 15 minutes and try again."


def attempt(client, username, password, address="203.0.113.7", url="/accounts/login/"):
    """A login POST as nginx forwards it: from 127.0.0.1 with the client in X-Forwarded-For."""
    return client.post(
        url,
        {"username": username, "password": password},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR=f"198.51.100.1, {address}",
    )


def admin_attempt(client, username, password, address="203.0.113.7"):
    return attempt(client, username, password, address, url="/admin/login/?next=/admin/")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(username="boss", password=PASSWORD, is_staff=True)


def test_five_failures_lock_the_username_even_with_the_right_password(client, user):
    answers = [attempt(client, "alice", "wrong").status_code for _ in range(FAILURE_LIMIT)]
    assert answers == [200] * (FAILURE_LIMIT - 1) + [429]  # the fifth failure says so at once
    response = attempt(client, "alice", PASSWORD, address="192.0.2.99")
    assert response.status_code == 429
    assert LOCKED in response.text
    assert client.get("/lab/probe").json()["authenticated"] is False


def test_the_lockout_page_is_a_clear_page_with_retry_after(client, user):
    for _ in range(FAILURE_LIMIT):
        attempt(client, "alice", "wrong")
    response = attempt(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert response["Content-Type"].startswith("text/html")
    assert "<h1>Too many failed logins</h1>" in response.text
    assert 'class="site-header"' in response.text  # the shop's own page, not a bare string


def test_five_failures_from_one_address_lock_that_address(client, user):
    for n in range(FAILURE_LIMIT):
        attempt(client, f"nobody{n}", "wrong")
    assert attempt(client, "alice", PASSWORD).status_code == 429
    assert attempt(Client(), "alice", PASSWORD, address="192.0.2.5").status_code == 302


def test_a_success_resets_the_users_count(client, user):
    for _ in range(FAILURE_LIMIT - 1):
        attempt(client, "alice", "wrong", address="192.0.2.1")
    assert attempt(client, "alice", PASSWORD, address="192.0.2.2").status_code == 302
    other = Client()
    for _ in range(FAILURE_LIMIT - 1):
        attempt(other, "alice", "wrong", address="192.0.2.3")
    assert attempt(other, "alice", PASSWORD, address="192.0.2.4").status_code == 302


def test_a_success_does_not_reset_the_addresss_count(client, user, django_user_model):
    """Otherwise an attacker with an account of their own could guess forever: four guesses
    at other people's passwords, one login of their own, and again."""
    django_user_model.objects.create_user(username="mallory", password=PASSWORD)
    for n in range(FAILURE_LIMIT - 1):
        attempt(client, f"victim{n}", "guess")
    assert attempt(Client(), "mallory", PASSWORD).status_code == 302
    attempt(Client(), "victim9", "guess")
    assert attempt(Client(), "mallory", PASSWORD).status_code == 429


def test_usernames_are_counted_whatever_their_case_and_spaces(client, user):
    for n, name in enumerate(["alice", "ALICE", " Alice", "alicE ", "aLiCe"]):
        attempt(Client(), name, "wrong", address=f"192.0.2.{40 + n}")
    assert attempt(client, "alice", PASSWORD, address="192.0.2.200").status_code == 429


def test_forwarded_for_is_ignored_from_an_untrusted_peer(client, user):
    """A client cannot dodge the address lock by inventing X-Forwarded-For values."""
    for n in range(FAILURE_LIMIT):
        client.post(
            "/accounts/login/",
            {"username": f"nobody{n}", "password": "wrong"},
            REMOTE_ADDR="203.0.113.50",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        )
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD},
        REMOTE_ADDR="203.0.113.50",
        HTTP_X_FORWARDED_FOR="10.0.0.99",
    )
    assert response.status_code == 429


def test_a_forwarded_for_that_is_no_address_counts_against_the_proxy(client, user):
    """Garbage from a trusted proxy is not stored as an address (PostgreSQL's inet would refuse it)."""
    for _ in range(FAILURE_LIMIT):
        client.post(
            "/accounts/login/",
            {"username": "nobody", "password": "wrong"},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR="not-an-address",
        )
    assert attempt(client, "alice", PASSWORD, address="127.0.0.1").status_code == 429


# The admin login, and any other authenticate() with a request, count in the same place.


def test_five_failed_admin_logins_lock_the_admin_login(client, staff):
    answers = [admin_attempt(client, "boss", "wrong").status_code for _ in range(FAILURE_LIMIT)]
    assert answers == [200] * (FAILURE_LIMIT - 1) + [429]
    response = admin_attempt(client, "boss", PASSWORD, address="192.0.2.77")
    assert response.status_code == 429
    assert LOCKED in response.text
    assert client.get("/admin/").status_code == 302  # still not logged in


def test_failures_at_the_shop_and_the_admin_count_together(client, staff):
    for _ in range(3):
        attempt(client, "boss", "wrong", address="192.0.2.10")
    for _ in range(2):
        admin_attempt(client, "boss", "wrong", address="192.0.2.11")
    assert admin_attempt(client, "boss", PASSWORD, address="192.0.2.12").status_code == 429
    assert attempt(client, "boss", PASSWORD, address="192.0.2.13").status_code == 429


def test_a_staff_login_at_the_admin_still_works(client, staff):
    response = admin_attempt(client, "boss", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_any_authenticate_call_with_a_request_counts(client, user):
    factory = RequestFactory()
    for _ in range(FAILURE_LIMIT):
        request = factory.post("/api/token/", REMOTE_ADDR="198.51.100.20")
        assert authenticate(request, username="alice", password="wrong") is None
    request = factory.post("/api/token/", REMOTE_ADDR="198.51.100.21")
    assert authenticate(request, username="alice", password=PASSWORD) is None  # locked out
    assert attempt(client, "alice", PASSWORD, address="192.0.2.8").status_code == 429


def test_authenticate_without_a_request_still_works(user):
    """Code on the server (a shell, the test client's login()) has no request; no visitor can
    call authenticate() that way, so it is neither counted nor refused, and never crashes."""
    assert authenticate(username="alice", password=PASSWORD) == user
    assert authenticate(username="alice", password="wrong") is None
    assert Client().login(username="alice", password=PASSWORD)


# How long a lock lasts, and the table not growing without bound.


def age_attempts(minutes, **which):
    """Make the recorded failures (``which`` filters them) ``minutes`` older, as if that time had passed."""
    from axes.models import AccessAttempt

    for failure in AccessAttempt.objects.filter(**which):
        failure.attempt_time -= datetime.timedelta(minutes=minutes)
        failure.save(update_fields=["attempt_time"])


def test_a_lock_ends_fifteen_minutes_after_the_last_failure(client, user):
    for _ in range(FAILURE_LIMIT):
        attempt(client, "alice", "wrong")
    age_attempts(14)
    assert attempt(client, "alice", PASSWORD).status_code == 429
    age_attempts(1)
    assert attempt(client, "alice", PASSWORD).status_code == 302


def test_locked_out_attempts_do_not_extend_the_lock(client, user):
    for _ in range(FAILURE_LIMIT):
        attempt(client, "alice", "wrong")
    age_attempts(10)
    for _ in range(3):
        assert attempt(client, "alice", "wrong").status_code == 429
    age_attempts(5)
    assert attempt(client, "alice", PASSWORD).status_code == 302


def test_purge_login_attempts_deletes_only_expired_ones(client, user):
    from axes.models import AccessAttempt

    for n in range(3):
        attempt(client, f"old{n}", "wrong", address="192.0.2.30")
    attempt(client, "recent", "wrong", address="192.0.2.31")
    age_attempts(16, username__startswith="old")

    out = io.StringIO()
    call_command("purge_login_attempts", stdout=out)
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {"recent"}
    assert "3 expired" in out.getvalue()
