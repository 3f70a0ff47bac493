"""The user and the Device record in one statement (shop/accounts/signed_in.py): every decision
Django's ``auth.get_user`` makes, made alike; one query instead of two."""

from importlib import import_module

import pytest
from django.contrib import auth
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.http import HttpRequest
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.functional import SimpleLazyObject

from shop.accounts.devices import DEVICE_SESSION_KEY
from shop.accounts.models import Device
from shop.accounts.signed_in import lookup

pytestmark = pytest.mark.django_db
OLD_KEY, NEW_KEY = "old-key-" + "o" * 50, "new-key-" + "n" * 50


def fine(user, settings):
    pass


def password_changed(user, settings):
    user.set_password("another-horse-battery")
    user.save()


def signed_out_everywhere(user, settings):
    user.end_all_sessions()


def deactivated(user, settings):
    user.is_active = False
    user.save()


def deleted(user, settings):
    user.delete()


def device_ended(user, settings):
    Device.objects.filter(user=user).delete()


def key_rotated(user, settings):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, [OLD_KEY]


def key_replaced(user, settings):
    settings.SECRET_KEY = NEW_KEY


def backend_removed(user, settings):
    settings.AUTHENTICATION_BACKENDS = ["shop.accounts.lockout.LoginThrottleBackend"]


@pytest.fixture
def signed_in_cookie(client, user, settings):
    """A signed cookie session (each store decodes its own copy, so Django's answer and ours
    can both be asked about one session), signed in through the login form."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.SECRET_KEY = OLD_KEY
    assert (
        client.post(
            "/accounts/login/", {"username": "alice", "password": "correct-horse-battery"}
        ).status_code
        == 302
    )
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.mark.parametrize(
    "change",
    [
        fine,
        password_changed,
        signed_out_everywhere,
        deactivated,
        deleted,
        device_ended,
        key_rotated,
        key_replaced,
        backend_removed,
    ],
)
def test_it_decides_what_djangos_get_user_decides(signed_in_cookie, user, settings, change):
    change(user, settings)
    store = import_module(settings.SESSION_ENGINE).SessionStore
    request = HttpRequest()
    request.session = store(signed_in_cookie)
    expected = auth.get_user(request)
    session = store(signed_in_cookie)
    found, device = lookup(session, session.get(DEVICE_SESSION_KEY))

    assert (found.pk, found.is_authenticated) == (expected.pk, expected.is_authenticated)
    assert dict(session.items()) == dict(request.session.items())  # flushed, or moved to the new key, alike
    records = Device.objects.filter(user_id=user.pk).values_list("pk", "last_seen")
    assert device == (records.first() if expected.is_authenticated else None)
    if expected.is_authenticated:
        assert found.session_epoch == expected.session_epoch and found.password == expected.password


def test_a_signed_in_request_reads_the_user_and_its_device_record_in_one_query(shopper_client):
    assert shopper_client.get("/lab/probe").json()["authenticated"]
    with CaptureQueriesContext(connection) as queries:
        assert shopper_client.get("/lab/probe").json()["username"] == "alice"
    on_accounts = [q["sql"] for q in queries if "accounts_" in q["sql"]]
    assert len(on_accounts) == 1
    assert "accounts_user" in on_accounts[0] and "accounts_device" in on_accounts[0]


def nobody_signed_in(get_response):
    """A lazy check of its own between the auth middleware and the Device check (as a session age
    limit is): here it signs everyone out."""

    def middleware(request):
        inner = request.user
        request.user = SimpleLazyObject(lambda: AnonymousUser() if inner.is_authenticated else inner)
        return get_response(request)

    return middleware


def test_a_check_between_the_auth_middleware_and_the_device_check_still_runs(user, settings):
    at = settings.MIDDLEWARE.index("shop.accounts.devices.device_check")
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[:at],
        f"{__name__}.nobody_signed_in",
        *settings.MIDDLEWARE[at:],
    ]
    client = Client()  # its handler reads MIDDLEWARE at its first request
    client.force_login(user)
    assert not client.get("/lab/probe").json()["authenticated"]


def test_a_session_with_another_backend_is_asked_of_django(client, user, settings):
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "django.contrib.auth.backends.AllowAllUsersModelBackend",
    ]
    client.force_login(user, backend="django.contrib.auth.backends.AllowAllUsersModelBackend")
    session = client.session
    assert lookup(session, session.get(DEVICE_SESSION_KEY)) is None
    user.is_active = False
    user.save()
    assert client.get("/lab/probe").json()["username"] == "alice"  # that backend lets inactive users in
