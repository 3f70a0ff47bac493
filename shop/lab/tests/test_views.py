import os
import re
import socket

import pytest
from django.test import Client

from shop.core.profiles import profile


@pytest.mark.django_db
def test_probe_follows_the_contract(shopper_client, product, settings):
    settings.SHOP_SERVER_NAME = "server2"
    shopper_client.post(f"/cart/add/{product.pk}/", {"quantity": 2})
    response = shopper_client.get("/lab/probe")
    assert response.json() == {
        "server": "server2",
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "engine": "shop.core.session_backends.db",
        "profile": "db",
        "key_id": None,
        "authenticated": True,
        "username": "alice",
        "cart_items": 2,
    }
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_probe_sees_an_anonymous_visitor(client):
    assert client.get("/lab/probe").json() | {"pid": 0} == {
        "server": "local",
        "host": socket.gethostname(),
        "pid": 0,
        "engine": "shop.core.session_backends.db",
        "profile": "db",
        "key_id": None,
        "authenticated": False,
        "username": None,
        "cart_items": 0,
    }


@pytest.mark.django_db
def test_probe_names_the_signing_key_by_its_public_id_only(client, settings):
    settings.SHOP_SECRET_KEY_ID = "3f9a1c07"
    answer = client.get("/lab/probe")
    assert answer.json()["key_id"] == "3f9a1c07"
    assert settings.SECRET_KEY not in answer.content.decode()
    page = client.get("/lab/").content.decode()
    assert '<code data-testid="lab-key-id">3f9a1c07</code>' in page


@pytest.mark.django_db
def test_lab_page_shows_this_request(shopper_client):
    page = shopper_client.get("/lab/").content.decode()
    assert "<strong>alice</strong>" in page
    assert 'data-authenticated="true"' in page
    assert "js/lab.js" in page
    assert 'data-testid="cookie-payload"' not in page  # a db session cookie is just a key


def use_profile(settings, name):
    settings.SHOP_PROFILE, settings.SESSION_ENGINE = name, profile(name).engine


def signed_in_lab_page(settings, user, name):
    """/lab/ for ``user`` signed in under profile ``name``: the page, and its session cookie's length."""
    use_profile(settings, name)
    client = Client()
    client.force_login(user)
    page = client.get("/lab/").content.decode()
    assert 'data-testid="cookie-refused"' not in page
    return page, len(client.cookies["sessionid"].value)


@pytest.mark.django_db
def test_lab_page_shows_what_a_signed_cookie_carries(settings, user):
    page, size = signed_in_lab_page(settings, user, "signed_cookies")
    assert f"&#34;_auth_user_id&#34;: &#34;{user.pk}&#34;" in page
    assert f"{size} bytes" in page


@pytest.mark.django_db
def test_lab_page_shows_only_the_length_of_an_encrypted_cookie(settings, user):
    page, size = signed_in_lab_page(settings, user, "encrypted_cookies")
    assert 'data-testid="cookie-payload"' not in page
    assert "_auth_user_id" not in page
    assert f"learns nothing but its length, {size} bytes" in page


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["signed_cookies", "encrypted_cookies"])
def test_lab_page_survives_a_forged_cookie(client, settings, name):
    use_profile(settings, name)
    client.cookies["sessionid"] = "eyJfYXV0aF91c2VyX2lkIjoiMSJ9:forged:signature"
    response = client.get("/lab/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "This server does not accept this cookie" in page
    # What it claims is readable by anyone, whatever the server makes of it.
    assert "&#34;_auth_user_id&#34;: &#34;1&#34;" in page


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/lab/", "/lab/graphs/", "/lab/report/", "/lab/soak/"])
def test_hardened_mode_keeps_the_lab_pages_for_staff(settings, client, user, url):
    """The probe stays open (it describes the caller's own session); the pages describe servers."""
    settings.SHOP_SECURE = True
    assert client.get(url, secure=True)["Location"].startswith("/admin/login/")
    client.force_login(user)
    assert client.get(url, secure=True)["Location"].startswith("/admin/login/")
    assert client.get("/lab/probe", secure=True).status_code == 200
    user.is_staff = True
    user.save()
    client.force_login(user)
    assert client.get(url, secure=True).status_code in (200, 404)  # 404: no report made yet


def test_the_report_page_says_how_to_make_a_report_when_there_is_none(client, tmp_path, settings):
    settings.SHOP_LAB_RESULTS_DIR = tmp_path
    response = client.get("/lab/report/")
    assert response.status_code == 404
    assert "make lab" in response.content.decode()


def test_the_report_page_serves_the_latest_report_without_script(client, tmp_path, settings):
    settings.SHOP_LAB_RESULTS_DIR = tmp_path
    (tmp_path / "latest.html").write_text("<!doctype html><title>matrix</title><style>b{}</style>")
    response = client.get("/lab/report/")
    assert response.status_code == 200
    assert response.content.decode().endswith("<style>b{}</style>")
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_the_lab_page_links_the_report(client):
    page = client.get("/lab/").content.decode()
    assert re.search(r'<a href="/lab/report/"[^>]*>the latest experiment report</a>', page)


def test_the_soak_page_says_how_to_run_a_soak_when_there_is_none(client, tmp_path, settings):
    settings.SHOP_LAB_RESULTS_DIR = tmp_path
    response = client.get("/lab/soak/")
    assert response.status_code == 404
    assert "python manage.py soak --profile db" in response.content.decode()


def test_the_soak_page_serves_the_latest_soak_report_without_script(client, tmp_path, settings):
    settings.SHOP_LAB_RESULTS_DIR = tmp_path
    (tmp_path / "latest.html").write_text("<title>matrix</title>")
    (tmp_path / "soak-latest.html").write_text("<!doctype html><title>soak</title><svg></svg>")
    response = client.get("/lab/soak/")
    assert response.content.decode().endswith("<svg></svg>")
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy


@pytest.mark.django_db
def test_the_lab_page_links_the_latest_soak(client):
    page = client.get("/lab/").content.decode()
    assert re.search(r'<a href="/lab/soak/"[^>]*>the\s+latest soak report</a>', page)
