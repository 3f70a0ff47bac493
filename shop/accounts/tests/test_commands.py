import io

import pytest
from django.core.management import call_command
from django.test import Client

from shop.accounts.management.commands.demo_users import DEMO_USERS

pytestmark = pytest.mark.django_db

LOGINS = {username: password for username, password, _ in DEMO_USERS}


def demo_users():
    out = io.StringIO()
    call_command("demo_users", stdout=out)
    return out.getvalue()


def admin_login(username):
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": username, "password": LOGINS[username]})
    return client, response


def test_demo_users_prints_the_logins():
    output = demo_users()
    assert "shopper / shop-demo-2026" in output
    assert "admin / admin-demo-2026" in output


def test_demo_admin_can_use_the_admin():
    demo_users()
    client, response = admin_login("admin")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    page = client.get("/admin/")
    assert page.status_code == 200
    assert "Site administration" in page.text
    assert client.get("/admin/catalog/product/").status_code == 200


def test_demo_shopper_can_shop_but_not_administer():
    demo_users()
    shop = Client()
    response = shop.post("/accounts/login/", {"username": "shopper", "password": LOGINS["shopper"]})
    assert response.status_code == 302
    assert '<span class="who">shopper</span>' in shop.get("/").text

    _, response = admin_login("shopper")
    assert response.status_code == 200
    assert "Please enter the correct username and password for a staff account." in response.text


def test_demo_users_is_idempotent_and_resets_the_passwords(django_user_model):
    demo_users()
    admin = django_user_model.objects.get(username="admin")
    admin.set_password("changed-by-someone")
    admin.save()
    demo_users()
    assert django_user_model.objects.filter(username__in=LOGINS).count() == 2
    assert django_user_model.objects.count() == 2
    _, response = admin_login("admin")
    assert response.status_code == 302


def test_createsuperuser_makes_a_working_admin_login(monkeypatch):
    password = "a-long-password-for-tests-7"
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", password)
    call_command(
        "createsuperuser", "--noinput", username="root", email="root@example.com", stdout=io.StringIO()
    )
    response = Client().post("/admin/login/?next=/admin/", {"username": "root", "password": password})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
