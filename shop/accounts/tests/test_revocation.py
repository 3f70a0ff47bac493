"""A copied session must stop working after "log out of all devices" or a password change,
on every engine: cookie sessions (signed or encrypted) included, which have no server-side store to
delete from."""

import pytest
from django.test import Client

from shop.catalog.tests.html_form import form_fields
from shop.core.profiles import profile

PROFILES = ["db", "signed_cookies", "encrypted_cookies"]
PASSWORD = "correct-horse-battery"
NEW = "new-horse-battery"


@pytest.fixture(params=PROFILES)
def engine(request, settings):
    settings.SESSION_ENGINE = profile(request.param).engine
    return request.param


def logged_in_client(user):
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def replay(cookie):
    """A second browser presenting a copied session cookie."""
    thief = Client()
    thief.cookies["sessionid"] = cookie
    return thief.get("/lab/probe").json()


@pytest.mark.django_db
def test_logout_everywhere_revokes_a_copied_cookie(engine, user):
    browser = logged_in_client(user)
    copied = browser.cookies["sessionid"].value
    assert replay(copied)["authenticated"] is True

    response = browser.post("/accounts/logout_everywhere/")
    assert response.status_code == 302
    assert replay(copied)["authenticated"] is False
    assert browser.get("/lab/probe").json()["authenticated"] is False


@pytest.mark.django_db
def test_password_change_revokes_other_sessions_but_keeps_this_one(engine, user):
    browser, other_device = logged_in_client(user), logged_in_client(user)
    copied = other_device.cookies["sessionid"].value
    response = browser.post(
        "/accounts/password_change/", {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}
    )
    assert response.status_code == 302
    assert browser.get("/lab/probe").json()["authenticated"] is True
    assert other_device.get("/lab/probe").json()["authenticated"] is False
    assert replay(copied)["authenticated"] is False


@pytest.mark.django_db
def test_logout_everywhere_is_post_only(shopper_client):
    assert shopper_client.get("/accounts/logout_everywhere/").status_code == 405
    assert shopper_client.get("/lab/probe").json()["authenticated"] is True


# A stale save of the user must not bring back the sessions "log out of all devices" ended.


@pytest.mark.django_db
def test_a_stale_save_of_the_user_does_not_undo_logout_everywhere(engine, user, django_user_model):
    stale = django_user_model.objects.get(pk=user.pk)  # loaded before the bump, e.g. by a slow request
    browser = logged_in_client(user)
    copied = browser.cookies["sessionid"].value
    assert browser.post("/accounts/logout_everywhere/").status_code == 302

    stale.first_name = "Alice"
    stale.save()
    assert django_user_model.objects.get(pk=user.pk).first_name == "Alice"  # the rest is saved
    assert django_user_model.objects.get(pk=user.pk).session_epoch == 1
    assert replay(copied)["authenticated"] is False


@pytest.mark.django_db
def test_an_admin_save_of_a_form_opened_before_the_bump_keeps_sessions_revoked(user, admin_client):
    url = f"/admin/accounts/user/{user.pk}/change/"
    fields = form_fields(admin_client.get(url).text, "user_form") | {"_save": "Save"}
    browser = logged_in_client(user)
    copied = browser.cookies["sessionid"].value
    assert browser.post("/accounts/logout_everywhere/").status_code == 302

    assert admin_client.post(url, fields | {"first_name": "Alice"}).status_code == 302
    assert replay(copied)["authenticated"] is False


@pytest.mark.django_db
def test_a_new_user_is_saved_with_its_epoch(django_user_model):
    created = django_user_model(username="dora", session_epoch=3)
    created.save()
    assert django_user_model.objects.get(username="dora").session_epoch == 3


@pytest.mark.django_db
def test_the_epoch_is_not_editable_in_the_admin(user, admin_client):
    page = admin_client.get(f"/admin/accounts/user/{user.pk}/change/").text
    assert 'name="session_epoch"' not in page
