import pytest
from django.test import Client

from shop.accounts.throttle import FAILURE_LIMIT


def attempt(client, username, password, address="203.0.113.7"):
    """A login POST as nginx forwards it: from 127.0.0.1 with the client in X-Forwarded-For."""
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR=f"198.51.100.1, {address}",
    )


@pytest.mark.django_db
def test_five_failures_lock_the_username_even_with_the_right_password(client, user):
    for _ in range(FAILURE_LIMIT):
        assert attempt(client, "alice", "wrong").status_code == 200
    response = attempt(client, "alice", "correct-horse-battery", address="192.0.2.99")
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert client.get("/lab/probe").json()["authenticated"] is False


@pytest.mark.django_db
def test_five_failures_from_one_address_lock_that_address(client, user, django_user_model):
    for n in range(FAILURE_LIMIT):
        attempt(client, f"nobody{n}", "wrong")
    assert attempt(client, "alice", "correct-horse-battery").status_code == 429
    assert attempt(Client(), "alice", "correct-horse-battery", address="192.0.2.5").status_code == 302


@pytest.mark.django_db
def test_a_success_resets_the_users_count(client, user):
    for _ in range(FAILURE_LIMIT - 1):
        attempt(client, "alice", "wrong", address="192.0.2.1")
    assert attempt(client, "alice", "correct-horse-battery", address="192.0.2.2").status_code == 302
    other = Client()
    for _ in range(FAILURE_LIMIT - 1):
        attempt(other, "alice", "wrong", address="192.0.2.3")
    assert attempt(other, "alice", "correct-horse-battery", address="192.0.2.4").status_code == 302


@pytest.mark.django_db
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
        {"username": "alice", "password": "correct-horse-battery"},
        REMOTE_ADDR="203.0.113.50",
        HTTP_X_FORWARDED_FOR="10.0.0.99",
    )
    assert response.status_code == 429
