"""One shopping flow, run under every session profile, through Django's test client.

A single process serves every request here, so every profile (locmem included) keeps
the session: the cross-server differences are shown by the stack and lab tests.
"""

import importlib
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache

from shop.core.profiles import PROFILES, REGISTRY
from shop.orders.models import Order


@pytest.fixture(scope="session")
def session_file_path(tmp_path_factory):
    # One folder for the whole run: Django's file engine caches the path per process.
    return str(tmp_path_factory.mktemp("sessions"))


@pytest.fixture(params=PROFILES)
def profile(request, settings, session_file_path):
    """Apply a profile module's session settings to this test (Redis ones get a real Redis)."""
    module = importlib.import_module(f"config.settings.{request.param}")
    settings.SHOP_PROFILE = module.SHOP_PROFILE
    settings.SESSION_ENGINE = module.SESSION_ENGINE
    settings.CACHES = module.CACHES
    if "django_redis" in module.CACHES["default"]["BACKEND"]:
        redis_url = request.getfixturevalue("redis_url")
        settings.CACHES = {"default": module.CACHES["default"] | {"LOCATION": redis_url}}
    settings.SESSION_FILE_PATH = session_file_path
    cache.clear()
    return request.param


def signup(client, username, next_url):
    return client.post(
        f"/accounts/signup/?next={next_url}",
        {"username": username, "password1": "plum-tree-orchard", "password2": "plum-tree-orchard"},
    )


@pytest.mark.django_db
def test_shopping_flow(profile, client, make_product):
    kettle = make_product(name="Copper Kettle", slug="copper-kettle", price=Decimal("39.90"), stock=5)
    mug = make_product(name="Stoneware Mug", slug="stoneware-mug", price=Decimal("8.45"), stock=20)

    page = client.get("/").content.decode()
    assert 'href="/p/copper-kettle/"' in page
    assert client.get("/p/stoneware-mug/").status_code == 200

    client.post(f"/cart/add/{kettle.pk}/", {"quantity": 1})
    client.post(f"/cart/add/{mug.pk}/", {"quantity": 3})
    assert client.get("/lab/probe").json()["cart_items"] == 4

    response = client.get("/checkout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/checkout/"

    response = signup(client, "dana", "/checkout/")
    assert response["Location"] == "/checkout/"
    checkout = client.get("/checkout/")
    assert checkout.status_code == 200
    assert "Stoneware Mug" in checkout.content.decode()  # the anonymous cart survived login

    response = client.post(
        "/checkout/",
        {"full_name": "Dana Scully", "address": "1 Main St", "city": "Oslo", "postal_code": "0150"},
    )
    order = Order.objects.get(user__username="dana")
    assert response["Location"] == f"/orders/{order.pk}/"
    assert order.total == Decimal("65.25")
    assert client.get(f"/orders/{order.pk}/").status_code == 200
    assert f"/orders/{order.pk}/" in client.get("/accounts/orders/").content.decode()

    probe = client.get("/lab/probe").json()
    assert probe == probe | {"authenticated": True, "username": "dana", "cart_items": 0, "profile": profile}
    kettle.refresh_from_db()
    assert kettle.stock == 4


@pytest.mark.django_db
# Looking a signed cookie up as a cache key is the point here, long as that key is.
@pytest.mark.filterwarnings("ignore::django.core.cache.backends.base.CacheKeyWarning")
def test_session_lives_where_the_profile_says(profile, client, user, settings):
    """After login, the session is found in the store the profile names, and only there."""
    client.post("/accounts/login/", {"username": user.username, "password": "correct-horse-battery"})
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    in_db = Session.objects.filter(session_key=cookie).exists()
    in_cache = any(cache.get(f"django.contrib.sessions.{kind}{cookie}") for kind in ("cache", "cached_db"))
    on_disk = any(path.name.endswith(cookie) for path in Path(settings.SESSION_FILE_PATH).iterdir())
    expected = {
        "locmem": (False, True, False),
        "file": (False, False, True),
        "db": (True, False, False),
        "cache": (False, True, False),
        "cached_db": (True, True, False),
        "signed_cookies": (False, False, False),
        "encrypted_cookies": (False, False, False),
    }[profile]
    assert (in_db, in_cache, on_disk) == expected
    if REGISTRY[profile].in_cookie:  # the cookie is the session: the engine reads it without a store
        data = importlib.import_module(REGISTRY[profile].engine).SessionStore(cookie).load()
        assert data["_auth_user_id"] == str(user.pk)
