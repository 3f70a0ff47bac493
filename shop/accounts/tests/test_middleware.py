"""A visitor without a session cookie is anonymous, and the page says so without reading a session."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_page_for_a_visitor_without_a_session_cookie_does_not_vary_on_cookie(client, product):
    response = client.get("/")
    assert response.status_code == 200
    assert "Cookie" not in response.get("Vary", "")
    assert not response.cookies
    assert "Log in" in response.text
    assert 'data-testid="cart-count">0<' in response.text


def test_a_signed_in_shopper_is_still_read_from_the_session(shopper_client, user, product):
    response = shopper_client.get("/")
    assert user.username in response.text
    assert "Cookie" in response["Vary"]


def test_a_session_cookie_nobody_issued_is_an_anonymous_visitor(client, product):
    client.cookies["sessionid"] = "x" * 32
    response = client.get("/")
    assert response.status_code == 200
    assert "Log in" in response.text
    assert "Cookie" in response["Vary"]  # a session was looked up: the answer depends on the cookie


def test_logging_in_during_the_request_still_sets_the_user(client, user):
    fields = {"username": user.username, "password": "correct-horse-battery"}
    response = client.post("/accounts/login/", fields)
    assert response.status_code == 302
    assert user.username in client.get("/").text
