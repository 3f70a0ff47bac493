"""Catalog pages from cached fragments: cheap, current, and never anyone else's."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from shop.catalog.csrf_slot import SLOT
from shop.catalog.models import Category, Product
from shop.catalog.views import PRODUCTS_PER_PAGE

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CATALOG_PAGES = ["/", "/?q=mug", "/?page=2", "/c/kitchen/", "/p/copper-kettle/"]


@pytest.fixture
def catalog(make_product, product):
    for i in range(PRODUCTS_PER_PAGE + 3):
        make_product(name=f"Mug {i:02}")


@pytest.mark.parametrize("url", CATALOG_PAGES)
def test_a_cached_page_costs_one_query_the_catalog_version(
    client, catalog, django_assert_num_queries, django_assert_max_num_queries, url
):
    with django_assert_max_num_queries(3):  # rendered: the list's budget, with the version in it
        first = client.get(url)
    with django_assert_num_queries(1):
        again = client.get(url)
    assert again.status_code == first.status_code == 200
    assert TOKEN.sub("", again.text) == TOKEN.sub("", first.text)  # a token is masked anew each time


@pytest.mark.parametrize("url", ["/", "/c/kitchen/", "/p/copper-kettle/"])
def test_a_cached_page_for_a_signed_in_shopper_costs_the_session_the_user_with_the_device_and_the_version(
    shopper_client, catalog, django_assert_num_queries, url
):
    """The device record is the signed-in check every page pays (shop/accounts/devices.py), read with
    the user in one statement (shop/accounts/signed_in.py)."""
    shopper_client.get(url)
    with django_assert_num_queries(3):
        response = shopper_client.get(url)
    assert "alice" in response.text


@pytest.mark.parametrize("count", [5, PRODUCTS_PER_PAGE])
def test_a_stale_page_costs_the_version_and_the_rendering_whatever_its_size(
    client, make_product, django_assert_max_num_queries, count
):
    products = [make_product(name=f"Mug {i:02}") for i in range(count)]
    client.get("/")
    products[0].save()  # a new catalog version
    with django_assert_max_num_queries(4):
        client.get("/")


@pytest.mark.parametrize("url", CATALOG_PAGES)
def test_a_price_change_shows_on_the_next_request(client, catalog, url):
    client.get(url)
    for product in Product.objects.all():  # whichever products this page shows
        product.price = Decimal("41.50")
        product.save()
    assert "$41.50" in client.get(url).text


def test_a_checkout_that_sells_out_shows_on_the_next_request(shopper_client, product):
    assert "5 in stock" in shopper_client.get("/p/copper-kettle/").text
    assert "Sold out" not in shopper_client.get("/").text
    shopper_client.post(f"/cart/add/{product.pk}/", {"quantity": 5})
    checkout = shopper_client.get("/checkout/").text
    token = re.search(r'name="checkout_token" value="([^"]+)"', checkout).group(1)
    address = {"full_name": "Ada", "address": "1 Loop Road", "city": "Localhost", "postal_code": "12345"}
    assert shopper_client.post("/checkout/", {**address, "checkout_token": token}).status_code == 302
    assert Product.objects.get(pk=product.pk).stock == 0
    assert "Sold out" in shopper_client.get("/p/copper-kettle/").text
    assert "Sold out" in shopper_client.get("/").text


def test_a_renamed_category_shows_in_the_sidebar_and_its_page(client, catalog, category):
    client.get("/c/kitchen/")
    category.name = "Cookware"
    category.save()
    page = client.get("/c/kitchen/").text
    assert "<title>Cookware" in page and ">Cookware</a>" in page


def test_a_category_added_later_is_found(client, catalog):
    client.get("/")
    assert client.get("/c/garden/").status_code == 404
    Category.objects.create(name="Garden", slug="garden")
    assert client.get("/c/garden/").status_code == 200


def test_a_withdrawn_product_is_gone_at_once(client, product):
    assert client.get("/p/copper-kettle/").status_code == 200
    product.is_active = False
    product.save()
    assert client.get("/p/copper-kettle/").status_code == 404
    assert "Copper Kettle" not in client.get("/").text


def test_searches_are_cached_apart(client, make_product):
    make_product(name="Blue Mug")
    make_product(name="Red Plate")
    assert "Red Plate" not in client.get("/", {"q": "blue mug"}).text
    assert "Blue Mug" not in client.get("/", {"q": "red plate"}).text
    assert "Search: blue mug" in client.get("/", {"q": "blue mug"}).text


@pytest.mark.parametrize("url", CATALOG_PAGES)
def test_a_shoppers_name_and_cart_never_reach_another_visitor(catalog, product, user, url):
    """The page a shopper was served first is cached; the next visitors see only their own header."""
    alice = Client()
    alice.force_login(user)
    alice.post(f"/cart/add/{product.pk}/", {"quantity": 2})
    alice_page = alice.get(url).text
    assert "alice" in alice_page and 'data-testid="cart-count">2<' in alice_page

    bob = Client()
    bob.force_login(get_user_model().objects.create_user("bob", password="correct-horse-battery"))
    bob_page = bob.get(url).text
    assert "bob" in bob_page and "alice" not in bob_page and 'data-testid="cart-count">0<' in bob_page
    stranger = Client().get(url).text
    assert "alice" not in stranger and "Log in" in stranger and 'data-testid="cart-count">0<' in stranger


def test_every_visitor_gets_a_token_of_their_own_that_adds_to_the_cart(product):
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    token = TOKEN.search(first.get("/p/copper-kettle/").text).group(1)
    other = TOKEN.search(second.get("/p/copper-kettle/").text).group(1)
    assert token != other
    assert SLOT not in first.get("/p/copper-kettle/").text
    added = first.post(f"/cart/add/{product.pk}/", {"quantity": 1, "csrfmiddlewaretoken": token})
    assert added.status_code == 302
    stolen = second.post(f"/cart/add/{product.pk}/", {"quantity": 1, "csrfmiddlewaretoken": token})
    assert stolen.status_code == 403


def test_the_slot_is_left_to_nginx_only_when_nginx_asks_and_there_is_no_session(shopper_client, product):
    shared = Client().get("/p/copper-kettle/", headers={"X-CSRF-Slot": "balancer"})
    assert f'name="csrfmiddlewaretoken" value="{SLOT}"' in shared.text
    assert not shared.cookies
    assert "Cookie" not in shared.get("Vary", "")

    signed_in = shopper_client.get("/p/copper-kettle/", headers={"X-CSRF-Slot": "balancer"})
    assert SLOT not in signed_in.text
    assert TOKEN.search(signed_in.text)
