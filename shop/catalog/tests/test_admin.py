"""Staff run the shop from the Django admin: its pages must load and show the right things."""

from decimal import Decimal
from importlib import import_module

import pytest
from django.conf import settings

from shop.cart.cart import Cart
from shop.catalog.models import Product
from shop.orders.models import Order, OrderItem
from shop.orders.services import place_order

from .html_form import form_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(user, product):
    order = Order.objects.create(
        user=user,
        full_name="Alice Liddell",
        address="1 Rabbit Hole",
        city="Oxford",
        postal_code="OX1",
        total=Decimal("79.80"),
    )
    OrderItem.objects.create(
        order=order, product=product, product_name=product.name, unit_price=product.price, quantity=2
    )
    return order


@pytest.mark.parametrize(
    ("url", "shows"),
    [
        ("/admin/catalog/product/", "Copper Kettle"),
        ("/admin/catalog/category/", "Kitchen"),
        ("/admin/orders/order/", "Alice Liddell"),
        ("/admin/accounts/user/", "alice"),
    ],
)
def test_changelists_load_for_a_superuser(admin_client, order, url, shows):
    response = admin_client.get(url)
    assert response.status_code == 200
    assert shows in response.text


def test_product_changelist_edits_price_and_stock_in_place(admin_client, product):
    response = admin_client.get("/admin/catalog/product/")
    assert 'name="form-0-price" value="39.90"' in response.text
    assert 'name="form-0-stock" value="5"' in response.text


def test_product_changelist_searches_and_filters(admin_client, make_product):
    make_product(name="Copper Kettle")
    make_product(name="Oak Board", is_active=False)
    searched = admin_client.get("/admin/catalog/product/", {"q": "kettle"})
    assert "Copper Kettle" in searched.text
    assert "Oak Board" not in searched.text
    inactive = admin_client.get("/admin/catalog/product/", {"is_active__exact": "0"})
    assert "Oak Board" in inactive.text
    assert "Copper Kettle" not in inactive.text


@pytest.mark.parametrize("url", ["/admin/catalog/product/add/", "/admin/accounts/user/add/"])
def test_add_pages_load(admin_client, url):
    assert admin_client.get(url).status_code == 200


def test_order_change_page_shows_read_only_lines(admin_client, order):
    response = admin_client.get(f"/admin/orders/order/{order.pk}/change/")
    assert response.status_code == 200
    assert "79.80" in response.text
    # the line is shown as text...
    assert '<td class="field-unit_price">' in response.text
    assert "<p>39.90</p>" in response.text
    assert "2 × Copper Kettle" in response.text
    # ...and cannot be edited, deleted or joined by another line
    assert 'name="items-0-quantity"' not in response.text
    assert 'name="items-0-unit_price"' not in response.text
    assert 'name="items-0-DELETE"' not in response.text
    assert 'name="items-MAX_NUM_FORMS" value="0"' in response.text


def test_admin_is_closed_to_shoppers(shopper_client):
    response = shopper_client.get("/admin/catalog/product/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# Stock edited in the admin never undoes stock that checkouts took meanwhile.

SHIPPING = {"full_name": "Alice Liddell", "address": "1 Rabbit Hole", "city": "Oxford", "postal_code": "OX1"}


def checkout(user, product, quantity):
    """A shopper buys ``quantity`` of ``product`` (the one place an order is made)."""
    cart = Cart(import_module(settings.SESSION_ENGINE).SessionStore())
    cart.add(product, quantity)
    place_order(user, cart, SHIPPING)


def stock(product):
    return Product.objects.get(pk=product.pk).stock


def change_form(admin_client, product):
    url = f"/admin/catalog/product/{product.pk}/change/"
    return url, form_fields(admin_client.get(url).text, "product_form") | {"_save": "Save"}


def change_list(admin_client):
    page = admin_client.get("/admin/catalog/product/").text
    return form_fields(page, "changelist-form") | {"_save": "Save"}


def test_a_change_form_opened_before_a_checkout_keeps_the_stock_it_took(admin_client, user, product):
    url, fields = change_form(admin_client, product)
    assert fields["stock"] == "5"
    checkout(user, product, 2)
    response = admin_client.post(url, fields | {"price": "41.00"})
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("41.00"), 3)


def test_a_stock_change_in_the_change_form_is_applied_on_top_of_checkouts(admin_client, user, product):
    url, fields = change_form(admin_client, product)
    checkout(user, product, 2)
    assert admin_client.post(url, fields | {"stock": "10"}).status_code == 302  # +5 over what was shown
    assert stock(product) == 8


def test_a_stock_change_that_checkouts_made_impossible_is_refused(admin_client, user, product):
    url, fields = change_form(admin_client, product)
    checkout(user, product, 4)
    response = admin_client.post(url, fields | {"stock": "2", "price": "41.00"})  # -3, but only 1 is left
    assert response.status_code == 200
    assert "Only 1 left now" in response.text
    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("39.90"), 1)  # nothing saved


def test_the_change_list_opened_before_a_checkout_keeps_the_stock_it_took(admin_client, user, product):
    fields = change_list(admin_client)
    assert fields["form-0-stock"] == "5"
    checkout(user, product, 2)
    response = admin_client.post("/admin/catalog/product/", fields | {"form-0-price": "41.00"})
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("41.00"), 3)


def test_a_stock_change_in_the_change_list_is_applied_on_top_of_checkouts(admin_client, user, product):
    fields = change_list(admin_client)
    checkout(user, product, 2)
    assert admin_client.post("/admin/catalog/product/", fields | {"form-0-stock": "10"}).status_code == 302
    assert stock(product) == 8


def test_saving_an_unchanged_change_list_writes_no_stock(admin_client, user, product, make_product):
    board = make_product(name="Oak Board", stock=7)
    fields = change_list(admin_client)
    checkout(user, product, 2)
    checkout(user, board, 3)
    assert admin_client.post("/admin/catalog/product/", fields).status_code == 302
    assert (stock(product), stock(board)) == (3, 4)


def test_a_product_added_in_the_admin_gets_the_stock_given(admin_client, category):
    fields = form_fields(admin_client.get("/admin/catalog/product/add/").text, "product_form")
    fields |= {"category": str(category.pk), "name": "Tea Pot", "slug": "tea-pot", "price": "20.00"}
    fields["stock"] = "12"
    assert admin_client.post("/admin/catalog/product/add/", fields | {"_save": "Save"}).status_code == 302
    assert Product.objects.get(slug="tea-pot").stock == 12


def test_a_stock_change_without_the_stock_the_page_showed_is_refused(admin_client, product):
    url, fields = change_form(admin_client, product)
    del fields["initial-stock"]  # a page from before the admin carried it, or a hand-made POST
    response = admin_client.post(url, fields | {"stock": "9"})
    assert response.status_code == 200
    assert "This page is out of date" in response.text
    assert stock(product) == 5
