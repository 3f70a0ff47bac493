import re

import pytest
from django.test import Client

from shop.cart.cart import CART_SESSION_KEY
from shop.orders.models import Order

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
NEW_PASSWORD = "a-much-longer-passphrase-42"
OFF_SITE = ["https://evil.example/", "//evil.example/", "http://evil.example/cart/"]


def signed_in_as(client):
    """Who the header says is signed in, or None for an anonymous visitor."""
    page = client.get("/")
    assert page.status_code == 200
    match = re.search(r'<span class="who">([^<]+)</span>', page.text)
    return match.group(1) if match else None


def signup(client, username="carol", password=NEW_PASSWORD, confirm=None, url="/accounts/signup/", **extra):
    return client.post(
        url, {"username": username, "password1": password, "password2": confirm or password, **extra}
    )


def login(client, password=PASSWORD, url="/accounts/login/", **extra):
    return client.post(url, {"username": "alice", "password": password, **extra})


def add_to_cart(client, product, quantity=2):
    assert client.post(f"/cart/add/{product.pk}/", {"quantity": quantity}).status_code == 302


# Signup


def test_signup_creates_the_account_and_signs_in(client, django_user_model):
    response = signup(client)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert django_user_model.objects.filter(username="carol").exists()
    assert "Welcome, carol! You are signed in." in client.get("/").text
    assert signed_in_as(client) == "carol"


def test_signup_page_carries_next_into_the_form(client):
    page = client.get("/accounts/signup/?next=/cart/")
    assert page.status_code == 200
    assert 'name="next" value="/cart/"' in page.text


@pytest.mark.parametrize("where", ["post", "query"])
def test_signup_honours_a_same_site_next(client, where):
    if where == "post":
        response = signup(client, next="/cart/")
    else:
        response = signup(client, url="/accounts/signup/?next=/cart/")
    assert response["Location"] == "/cart/"


@pytest.mark.parametrize("next_url", OFF_SITE)
def test_signup_ignores_an_off_site_next(client, next_url):
    response = signup(client, next=next_url)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_as(client) == "carol"


def test_signup_password_mismatch_is_an_error(client, django_user_model):
    response = signup(client, confirm="something-else-entirely")
    assert response.status_code == 200
    assert "The two password fields didn’t match." in response.text
    assert not django_user_model.objects.filter(username="carol").exists()
    assert signed_in_as(client) is None


def test_signup_refuses_a_weak_password(client, django_user_model):
    response = signup(client, password="12345678")
    assert "This password is too common." in response.text
    assert not django_user_model.objects.filter(username="carol").exists()


def test_signup_refuses_a_taken_username(client, user, django_user_model):
    response = signup(client, username="alice")
    assert "A user with that username already exists." in response.text
    assert django_user_model.objects.filter(username="alice").count() == 1
    assert signed_in_as(client) is None


def test_anonymous_cart_survives_signup(client, product):
    add_to_cart(client, product, 2)
    signup(client)
    assert client.session[CART_SESSION_KEY] == {str(product.pk): 2}
    assert 'name="quantity" value="2"' in client.get("/cart/").text


# Login and logout


def test_login_signs_in_and_goes_home(client, user):
    response = login(client)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_as(client) == "alice"


def test_login_with_a_wrong_password_is_an_error(client, user):
    response = login(client, password="not-the-password")
    assert response.status_code == 200
    assert "Please enter a correct username and password." in response.text
    assert signed_in_as(client) is None


def test_login_honours_a_same_site_next(client, user):
    page = client.get("/accounts/login/?next=/accounts/orders/")
    assert 'name="next" value="/accounts/orders/"' in page.text
    response = login(client, next="/accounts/orders/")
    assert response["Location"] == "/accounts/orders/"


@pytest.mark.parametrize("next_url", OFF_SITE)
def test_login_ignores_an_off_site_next(client, user, next_url):
    page = client.get("/accounts/login/", {"next": next_url})
    assert 'name="next"' not in page.text
    response = login(client, next=next_url)
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize("next_url", OFF_SITE)
def test_a_signed_in_visitor_on_the_login_page_stays_on_site(shopper_client, next_url):
    response = shopper_client.get("/accounts/login/", {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_anonymous_cart_survives_login(client, user, product):
    add_to_cart(client, product, 3)
    login(client)
    assert signed_in_as(client) == "alice"
    assert client.session[CART_SESSION_KEY] == {str(product.pk): 3}
    assert 'data-testid="cart-count">3<' in client.get("/cart/").text


def test_logout_needs_post(shopper_client):
    assert shopper_client.get("/accounts/logout/").status_code == 405
    assert signed_in_as(shopper_client) == "alice"


def test_logout_signs_out(shopper_client):
    response = shopper_client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_as(shopper_client) is None
    assert shopper_client.get("/accounts/orders/").status_code == 302


# Password change


def change_password(client, old=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post(
        "/accounts/password_change/",
        {"old_password": old, "new_password1": new, "new_password2": confirm or new},
    )


def test_password_change_keeps_the_shopper_signed_in(shopper_client):
    response = change_password(shopper_client)
    assert response.status_code == 302
    assert "Your password was changed" in shopper_client.get("/").text
    assert signed_in_as(shopper_client) == "alice"

    fresh = Client()
    assert login(fresh, password=PASSWORD).status_code == 200  # the old one is refused
    assert login(fresh, password=NEW_PASSWORD).status_code == 302


def test_password_change_with_a_wrong_old_password_changes_nothing(shopper_client):
    response = change_password(shopper_client, old="not-the-password")
    assert response.status_code == 200
    assert "Your old password was entered incorrectly." in response.text
    assert login(Client()).status_code == 302


def test_password_change_needs_a_login(client):
    response = client.get("/accounts/password_change/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


# Order history


def test_order_history_lists_only_own_orders(shopper_client, user, django_user_model):
    bob = django_user_model.objects.create_user(username="bob", password="another-battery-staple")
    shipping = {"address": "1 Lane", "postal_code": "1000", "total": "5.00"}
    mine = Order.objects.create(user=user, full_name="Alice", city="Oxford", **shipping)
    theirs = Order.objects.create(user=bob, full_name="Bob", city="Zurich", **shipping)
    page = shopper_client.get("/accounts/orders/")
    assert page.status_code == 200
    assert f'href="/orders/{mine.pk}/"' in page.text
    assert "Oxford" in page.text
    assert f'href="/orders/{theirs.pk}/"' not in page.text
    assert "Zurich" not in page.text


def test_order_history_when_there_is_none(shopper_client):
    assert "No orders yet." in shopper_client.get("/accounts/orders/").text


def test_order_history_needs_a_login(client):
    response = client.get("/accounts/orders/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/accounts/orders/"


# A session cookie from outside


@pytest.fixture(params=["db", "signed_cookies", "cache"])
def engine(request, settings):
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{request.param}"
    return request.param


def tampered(value):
    """The cookie with one character of its payload changed."""
    flipped = "A" if value[5] != "A" else "B"
    return value[:5] + flipped + value[6:]


# A long cookie makes a long cache key, which only memcached refuses; ours are LocMem and Redis.
@pytest.mark.filterwarnings("ignore::django.core.cache.backends.base.CacheKeyWarning")
@pytest.mark.parametrize(
    "cookie",
    ["garbage", "", "x" * 4000, "caf\xe9 \xff", "a:b:c", "eyJfYXV0aF91c2VyX2lkIjoiMSJ9:1abc:bad", "TAMPERED"],
)
def test_a_bad_session_cookie_is_an_anonymous_visitor(engine, user, product, cookie):
    if cookie == "TAMPERED":
        signed_in = Client()
        assert login(signed_in).status_code == 302
        genuine = Client()
        genuine.cookies["sessionid"] = signed_in.cookies["sessionid"].value
        assert signed_in_as(genuine) == "alice"  # the untouched copy would be signed in
        cookie = tampered(signed_in.cookies["sessionid"].value)
    browser = Client()
    browser.cookies["sessionid"] = cookie

    assert signed_in_as(browser) is None
    assert browser.get("/cart/").status_code == 200
    assert browser.get("/p/copper-kettle/").status_code == 200
    assert browser.get("/accounts/orders/").status_code == 302
    # and can shop from there on, with a fresh session
    add_to_cart(browser, product, 1)
    assert 'data-testid="cart-count">1<' in browser.get("/cart/").text
