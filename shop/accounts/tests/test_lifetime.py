"""The absolute session lifetime (SHOP_SESSION_MAX_AGE), through Django's client, server-side and in a
signed cookie. Through nginx and several servers, under every shared profile: test_stack_lifetime.py.

A session's age is set by writing its sign-in time back (a real sign-in, then the time it would
carry had it signed in that long ago), so no test waits for a clock.
"""

import re
import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shop.accounts.lifetime import SIGNED_IN_AT
from shop.accounts.models import Device

pytestmark = pytest.mark.django_db

MAX_AGE = 3600
SIGNED_OUT = "You were signed out: a sign-in lasts 1\xa0hour at most, however busy you are."


@pytest.fixture(params=["db", "signed_cookies"])
def engine(request, settings):
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{request.param}"
    return request.param


@pytest.fixture
def max_age(settings):
    settings.SHOP_SESSION_MAX_AGE = MAX_AGE
    return MAX_AGE


def shopping(user, product):
    """A client signed in with 2 of ``product`` in its cart (a client loads the middleware at its
    first request, so make it after changing the settings)."""
    client = Client()
    client.force_login(user)
    assert client.post(f"/cart/add/{product.pk}/", {"quantity": 2}).status_code == 302
    return client


def rewrite(client, **values):
    """Change the client's session as a server would have written it; None deletes a value."""
    session = client.session
    for key, value in values.items():
        session.pop(key, None) if value is None else session.__setitem__(key, value)
    session.save()
    client.cookies["sessionid"] = session.session_key  # a signed cookie is a new value


def probe(client):
    answer = client.get("/lab/probe").json()
    return answer["authenticated"], answer["cart_items"]


def test_signing_in_writes_the_time_into_the_session(engine, user):
    client = Client()
    before = int(time.time())
    assert client.post("/accounts/login/", {"username": user.username, "password": "correct-horse-battery"})
    assert before <= client.session[SIGNED_IN_AT] <= time.time()


def test_a_session_past_the_max_age_is_signed_out_however_busy_keeping_its_cart(
    engine, max_age, user, product
):
    client = shopping(user, product)
    rewrite(client, **{SIGNED_IN_AT: int(time.time()) - max_age + 30})
    assert probe(client) == (True, 2)  # busy, and younger than the max age
    rewrite(client, **{SIGNED_IN_AT: int(time.time()) - max_age})
    page = client.get("/").text
    assert SIGNED_OUT in page
    assert 'class="who"' not in page
    assert probe(client) == (False, 2)
    assert not Device.objects.exists(), "the signed-out session's record is ended with it"
    assert SIGNED_IN_AT not in client.session


def test_without_a_max_age_an_old_sign_in_stays_signed_in(engine, user, product):
    client = shopping(user, product)
    rewrite(client, **{SIGNED_IN_AT: int(time.time()) - 10 * 365 * 24 * 3600})
    assert probe(client) == (True, 2)


def test_a_session_signed_in_before_the_time_was_written_signs_in_again_keeping_its_cart(
    engine, max_age, user, product
):
    """Given the time at first sight instead, a replayed copy of an old cookie (which never gets
    the new cookie with the time) would be given a new time at every request and never end."""
    client = shopping(user, product)
    rewrite(client, **{SIGNED_IN_AT: None})
    assert SIGNED_OUT in client.get("/").text
    assert probe(client) == (False, 2)


def test_an_anonymous_session_has_no_max_age(engine, max_age, product):
    client = Client()
    assert client.post(f"/cart/add/{product.pk}/", {"quantity": 2}).status_code == 302
    page = client.get("/").text
    assert "signed out" not in page
    assert probe(client) == (False, 2)


def test_the_check_costs_no_query(settings, user, product):
    def queries(max_age):
        settings.SHOP_SESSION_MAX_AGE = max_age
        client = shopping(user, product)
        with CaptureQueriesContext(connection) as captured:
            assert probe(client) == (True, 2)
        return [re.sub(r"'[^']*'|\b\d+\b", "?", query["sql"]) for query in captured]  # without keys and times

    assert queries(MAX_AGE) == queries(None)


def test_a_session_the_check_signs_out_needs_no_device_query(max_age, user, product):
    client = shopping(user, product)
    rewrite(client, **{SIGNED_IN_AT: int(time.time()) - max_age})
    with CaptureQueriesContext(connection) as captured:
        assert probe(client) == (False, 2)
    # The record is read only with the user, in the one statement every signed-in request makes
    # (signed_in.py): no query of the device check's own.
    device_reads = [
        q["sql"] for q in captured if q["sql"].startswith("SELECT") and "accounts_device" in q["sql"]
    ]
    assert all("accounts_user" in sql for sql in device_reads)


def test_a_visitor_without_a_session_cookie_still_gets_a_page_nginx_may_share(max_age, product):
    """The check asks no session that cannot exist: no ``Vary: Cookie`` (test_middleware.py)."""
    response = Client().get("/")
    assert response.status_code == 200
    assert "Cookie" not in response.get("Vary", "")
