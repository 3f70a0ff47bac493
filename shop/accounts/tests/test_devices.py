"""Where am I signed in, and signing out one session: the Device records, through Django's client.

One suite for a server-side engine and for signed cookies, where the record is the only thing a
server can take back. Through nginx and several servers: test_stack_devices.py.
"""

import io
import secrets
from datetime import timedelta

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shop.accounts.devices import DEVICE_SESSION_KEY, SIGN_IN_AGAIN
from shop.accounts.models import Device

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
PHONE = (
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/141.0.0.0 Mobile Safari/537.36"
)


@pytest.fixture(params=["db", "signed_cookies"])
def engine(request, settings):
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{request.param}"
    return request.param


def signed_in(user, agent=FIREFOX, address="127.0.0.1"):
    client = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=address)
    assert (
        client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    )
    return client


def who(client):
    return client.get("/lab/probe").json()["username"]


def device_id(client):
    return client.session[DEVICE_SESSION_KEY]


def end(client, device):
    return client.post(f"/accounts/sessions/{device}/end/")


def test_signing_in_records_when_where_and_which_browser(engine, user):
    laptop = signed_in(user)
    [device] = Device.objects.filter(user=user)
    assert (device.public_id, device.ip_address, device.user_agent) == (
        device_id(laptop),
        "127.0.0.1",
        FIREFOX,
    )
    assert device.browser == "Firefox on Linux"
    page = laptop.get("/accounts/sessions/")
    assert page.status_code == 200
    text = page.content.decode()
    assert text.count('data-testid="device"') == 1
    assert 'data-testid="this-device"' in text and "Firefox on Linux" in text and "127.0.0.1" in text
    assert "/end/" not in text  # no form to end the current session: that is "Log out"
    assert 'id="trade-off"' in text and "one database lookup on every signed-in request" in text
    assert "within the last minute" in text


def test_two_sessions_see_each_other_and_ending_one_leaves_the_other_signed_in(engine, user):
    laptop, phone = signed_in(user), signed_in(user, agent=PHONE, address="10.1.2.3")
    copied = phone.cookies["sessionid"].value
    page = laptop.get("/accounts/sessions/").content.decode()
    assert page.count('data-testid="device"') == 2
    assert "Chrome on Android" in page and "10.1.2.3" in page
    assert f'action="/accounts/sessions/{device_id(phone)}/end/"' in page
    assert f'action="/accounts/sessions/{device_id(laptop)}/end/"' not in page
    assert page.index('data-testid="this-device"') < page.index("Chrome on Android")  # this one first

    response = end(laptop, device_id(phone))
    assert (response.status_code, response["Location"]) == (302, "/accounts/sessions/")
    assert who(laptop) == user.username
    thief = Client()
    thief.cookies["sessionid"] = copied  # a copy of the phone's cookie is signed out as well
    assert who(thief) is None
    assert who(phone) is None
    assert phone.get("/accounts/orders/").status_code == 302
    assert list(Device.objects.filter(user=user).values_list("public_id", flat=True)) == [device_id(laptop)]


@pytest.mark.parametrize("forged", ["another user's", "random", "long", "odd characters"])
def test_a_forged_or_another_users_id_is_a_404_and_ends_nothing(engine, user, django_user_model, forged):
    laptop = signed_in(user)
    bob = django_user_model.objects.create_user(username="bob", password=PASSWORD)
    bobs_phone = signed_in(bob)
    device = {
        "another user's": device_id(bobs_phone),
        "random": secrets.token_urlsafe(16),
        "long": "x" * 5000,
        "odd characters": "%3Cscript%3E%00'",
    }[forged]
    assert end(laptop, device).status_code == 404
    assert (who(laptop), who(bobs_phone)) == (user.username, "bob")
    assert Device.objects.count() == 2


def test_the_pages_need_a_login_and_ending_needs_a_post(user):
    visitor = Client()
    assert visitor.get("/accounts/sessions/")["Location"] == "/accounts/login/?next=/accounts/sessions/"
    laptop, phone = signed_in(user), signed_in(user)
    assert end(visitor, device_id(phone))["Location"].startswith("/accounts/login/")
    assert laptop.get(f"/accounts/sessions/{device_id(phone)}/end/").status_code == 405
    assert laptop.post("/accounts/sessions/").status_code == 405
    assert who(phone) == user.username


def test_ending_the_current_session_logs_it_out(user):
    laptop, phone = signed_in(user), signed_in(user)
    response = end(laptop, device_id(laptop))
    assert (response.status_code, response["Location"]) == (302, "/")
    assert (who(laptop), who(phone)) == (None, user.username)
    assert Device.objects.filter(user=user).count() == 1


def test_logging_out_ends_the_record_so_a_copied_cookie_is_signed_out_too(engine, user):
    """Under signed cookies, before device records, a copy stayed signed in after a logout."""
    laptop = signed_in(user)
    copied = laptop.cookies["sessionid"].value
    assert laptop.post("/accounts/logout/").status_code == 302
    thief = Client()
    thief.cookies["sessionid"] = copied
    assert who(thief) is None
    assert not Device.objects.exists()


def test_logout_everywhere_ends_every_record(engine, user):
    laptop, phone = signed_in(user), signed_in(user)
    assert laptop.post("/accounts/logout_everywhere/").status_code == 302
    assert (who(laptop), who(phone)) == (None, None)
    assert not Device.objects.exists()


def test_a_password_change_keeps_only_this_sessions_record(engine, user):
    laptop, phone = signed_in(user), signed_in(user)
    new = "a-much-longer-passphrase-42"
    fields = {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    assert laptop.post("/accounts/password_change/", fields).status_code == 302
    assert (who(laptop), who(phone)) == (user.username, None)
    assert list(Device.objects.values_list("public_id", flat=True)) == [device_id(laptop)]


def test_a_session_signed_in_before_records_existed_signs_in_again_and_keeps_its_cart(engine, user, product):
    browser = Client()
    assert browser.post(f"/cart/add/{product.pk}/", {"quantity": 2}).status_code == 302
    session = browser.session  # as login() wrote it before this feature: no device id
    session.update(
        {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
    )
    session.save()
    browser.cookies["sessionid"] = session.session_key
    page = browser.get("/").content.decode()
    assert SIGN_IN_AGAIN in page
    assert 'class="who"' not in page
    probe = browser.get("/lab/probe").json()
    assert (probe["authenticated"], probe["cart_items"]) == (False, 2)
    assert not Device.objects.exists()


def test_the_check_is_one_query_and_last_seen_is_written_at_most_once_a_minute(user):
    laptop = signed_in(user)
    device = Device.objects.get()
    with CaptureQueriesContext(connection) as queries:
        assert who(laptop) == user.username
    on_devices = [q["sql"] for q in queries if "accounts_device" in q["sql"]]
    assert len(on_devices) == 1 and on_devices[0].startswith("SELECT")
    seen = device.last_seen
    device.refresh_from_db()
    assert device.last_seen == seen

    Device.objects.filter(pk=device.pk).update(last_seen=seen - timedelta(minutes=2), ip_address="10.0.0.1")
    phone = Client(HTTP_USER_AGENT=PHONE, REMOTE_ADDR="10.9.9.9")
    phone.cookies["sessionid"] = laptop.cookies["sessionid"].value
    assert who(phone) == user.username
    device.refresh_from_db()
    assert device.last_seen > seen and (device.ip_address, device.browser) == (
        "10.9.9.9",
        "Chrome on Android",
    )


def test_a_new_sign_in_beyond_the_cap_ends_the_least_recently_seen(user):
    oldest = signed_in(user)
    Device.objects.update(last_seen=timezone.now() - timedelta(days=1))
    others = [signed_in(user) for _ in range(Device.MAX_PER_USER - 1)]
    assert Device.objects.filter(user=user).count() == Device.MAX_PER_USER
    newest = signed_in(user)
    assert Device.objects.filter(user=user).count() == Device.MAX_PER_USER
    assert who(oldest) is None
    assert {who(client) for client in [*others, newest]} == {user.username}


def test_clear_devices_deletes_the_records_of_expired_sessions(user, settings):
    laptop, phone = signed_in(user), signed_in(user)
    lifetime = timedelta(seconds=settings.SESSION_COOKIE_AGE) + Device.SEEN_EVERY
    Device.objects.filter(public_id=device_id(phone)).update(
        last_seen=timezone.now() - lifetime - timedelta(1)
    )
    out = io.StringIO()
    call_command("clear_devices", stdout=out)
    assert "Deleted 1 device record of expired sessions." in out.getvalue()
    assert list(Device.objects.values_list("public_id", flat=True)) == [device_id(laptop)]
    assert who(laptop) == user.username


@pytest.mark.parametrize(
    ("agent", "shown"),
    [
        (FIREFOX, "Firefox on Linux"),
        (PHONE, "Chrome on Android"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/141.0 Safari/537.36 Edg/141.0", "Edge on Windows"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Version/18.0 Safari/604.1",
            "Safari on iPhone",
        ),
        ("python-httpx/0.28.1", "python-httpx/0.28.1"),
        ("", "Unknown browser"),
    ],
)
def test_the_browser_is_named_for_people(agent, shown):
    assert Device(user_agent=agent).browser == shown
