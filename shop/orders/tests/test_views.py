import re
from decimal import Decimal

import pytest

from shop.cart.cart import CART_SESSION_KEY
from shop.catalog.models import Product
from shop.orders.models import Order, OrderItem

pytestmark = pytest.mark.django_db

SHIPPING = {"full_name": "Alice Liddell", "address": "1 Rabbit Hole", "city": "Oxford", "postal_code": "OX1"}
PASSWORD = "correct-horse-battery"


def add(client, product, quantity):
    response = client.post(f"/cart/add/{product.pk}/", {"quantity": quantity})
    assert response.status_code == 302
    return response


def order_id(response):
    match = re.fullmatch(r"/orders/(\d+)/", response["Location"])
    assert match, response["Location"]
    return int(match.group(1))


def checkout_token(page):
    return re.search(r'name="checkout_token" value="([^"]+)"', page.text).group(1)


@pytest.fixture
def make_order(product):
    def make(owner):
        order = Order.objects.create(user=owner, total=Decimal("39.90"), **SHIPPING)
        OrderItem.objects.create(
            order=order, product=product, product_name=product.name, unit_price=product.price, quantity=1
        )
        return order

    return make


def test_checkout_sends_an_anonymous_shopper_to_login(client, product):
    add(client, product, 1)
    response = client.get("/checkout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/checkout/"
    assert not Order.objects.exists()


def test_anonymous_shopper_logs_in_and_checks_out_with_the_cart_intact(client, user, product):
    add(client, product, 2)
    login_page = client.get("/accounts/login/?next=/checkout/")
    assert 'name="next" value="/checkout/"' in login_page.text

    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD, "next": "/checkout/"}
    )
    assert response["Location"] == "/checkout/"
    page = client.get("/checkout/")
    assert page.status_code == 200
    assert "2 × Copper Kettle" in page.text
    assert "$79.80" in page.text

    response = client.post("/checkout/", SHIPPING)
    assert response.status_code == 302
    order = Order.objects.get(pk=order_id(response))
    assert order.user == user
    assert order.total == Decimal("79.80")
    assert Product.objects.get(pk=product.pk).stock == 3

    detail = client.get(response["Location"])
    assert f"Order {order.pk} is placed." in detail.text
    assert "Copper Kettle" in detail.text
    assert "$79.80" in detail.text
    assert 'data-testid="cart-count">0<' in detail.text


def test_checkout_page_shows_the_form_and_a_one_time_token(shopper_client, product):
    add(shopper_client, product, 1)
    page = shopper_client.get("/checkout/")
    for field in SHIPPING:
        assert f'name="{field}"' in page.text
    assert checkout_token(page) != checkout_token(shopper_client.get("/checkout/"))


@pytest.mark.parametrize("missing", [*SHIPPING, "all"])
def test_missing_fields_are_errors_and_order_nothing(shopper_client, product, missing):
    add(shopper_client, product, 1)
    data = {} if missing == "all" else {k: v for k, v in SHIPPING.items() if k != missing}
    response = shopper_client.post("/checkout/", data)
    assert response.status_code == 400
    assert "This field is required." in response.text
    assert not Order.objects.exists()
    assert Product.objects.get(pk=product.pk).stock == 5
    assert shopper_client.session[CART_SESSION_KEY] == {str(product.pk): 1}


def test_empty_cart_is_sent_back_to_the_cart(shopper_client):
    response = shopper_client.get("/checkout/")
    assert response.status_code == 302
    assert response["Location"] == "/cart/"
    assert "Your cart is empty" in shopper_client.get("/cart/").text


def test_posting_an_empty_cart_orders_nothing(shopper_client):
    response = shopper_client.post("/checkout/", SHIPPING)
    assert response.status_code == 409
    assert "Your cart is empty." in response.text
    assert not Order.objects.exists()


def test_out_of_stock_at_checkout_names_the_product_and_orders_nothing(shopper_client, product, make_product):
    board = make_product(name="Oak Board")
    add(shopper_client, product, 3)
    add(shopper_client, board, 1)
    Product.objects.filter(pk=product.pk).update(stock=2)  # someone else bought some

    response = shopper_client.post("/checkout/", SHIPPING)
    assert response.status_code == 409
    assert "Not enough stock for: Copper Kettle." in response.text
    assert not Order.objects.exists()
    assert Product.objects.get(pk=product.pk).stock == 2
    assert Product.objects.get(pk=board.pk).stock == 10
    assert shopper_client.session[CART_SESSION_KEY] == {str(product.pk): 3, str(board.pk): 1}


def test_a_double_submitted_form_makes_one_order(shopper_client, product):
    add(shopper_client, product, 1)
    page = shopper_client.get("/checkout/")
    token = checkout_token(page)
    first = shopper_client.post("/checkout/", {**SHIPPING, "checkout_token": token})
    second = shopper_client.post("/checkout/", {**SHIPPING, "checkout_token": token})
    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=product.pk).stock == 4


def test_order_detail_is_shown_to_its_owner(shopper_client, user, make_order):
    order = make_order(user)
    response = shopper_client.get(f"/orders/{order.pk}/")
    assert response.status_code == 200
    assert "Alice Liddell" in response.text
    assert "Copper Kettle" in response.text
    assert 'data-testid="order-total">$39.90<' in response.text


def test_another_users_order_is_404(shopper_client, django_user_model, make_order):
    bob = django_user_model.objects.create_user(username="bob", password="another-battery-staple")
    order = make_order(bob)
    response = shopper_client.get(f"/orders/{order.pk}/")
    assert response.status_code == 404
    assert "1 Rabbit Hole" not in response.text


def test_unknown_order_is_404(shopper_client):
    assert shopper_client.get("/orders/999999/").status_code == 404


def test_order_detail_sends_an_anonymous_visitor_to_login(client, user, make_order):
    order = make_order(user)
    response = client.get(f"/orders/{order.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/orders/{order.pk}/"


def test_a_cart_of_withdrawn_products_is_sent_back_to_the_cart(shopper_client, product):
    add(shopper_client, product, 1)
    Product.objects.filter(pk=product.pk).update(is_active=False)
    response = shopper_client.get("/checkout/")
    assert response.status_code == 302
    assert response["Location"] == "/cart/"
