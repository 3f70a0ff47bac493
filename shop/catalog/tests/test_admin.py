"""Staff run the shop from the Django admin: its pages must load and show the right things."""

from decimal import Decimal

import pytest

from shop.orders.models import Order, OrderItem

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
