import uuid
from decimal import Decimal
from importlib import import_module

import pytest
from django.conf import settings

from shop.cart.cart import Cart
from shop.catalog.models import Product
from shop.orders.models import Order, OrderItem
from shop.orders.services import CheckoutError, place_order

SHIPPING = {"full_name": "Alice Liddell", "address": "1 Rabbit Hole", "city": "Oxford", "postal_code": "OX1"}


@pytest.fixture
def cart(session_store):
    return Cart(session_store)


@pytest.fixture
def board(make_product):
    return make_product(name="Oak Board", price=Decimal("0.10"), stock=20)


def stock(product):
    return Product.objects.get(pk=product.pk).stock


def test_place_order_makes_the_order(user, cart, product, board):
    cart.add(product, 2)
    cart.add(board, 3)
    order = place_order(user, cart, SHIPPING)

    order = Order.objects.get(pk=order.pk)
    assert order.user == user
    assert (order.full_name, order.address, order.city, order.postal_code) == tuple(SHIPPING.values())
    assert order.total == Decimal("80.10")  # 2 × 39.90 + 3 × 0.10
    assert isinstance(order.total, Decimal)
    lines = {item.product_name: (item.unit_price, item.quantity) for item in order.items.all()}
    assert lines == {"Copper Kettle": (Decimal("39.90"), 2), "Oak Board": (Decimal("0.10"), 3)}


def test_place_order_takes_the_stock_and_empties_the_cart(user, cart, session_store, product, board):
    cart.add(product, 2)
    cart.add(board, 3)
    place_order(user, cart, SHIPPING)
    assert stock(product) == 3
    assert stock(board) == 17
    assert len(cart) == 0
    session_store.save()
    assert len(Cart(type(session_store)(session_store.session_key))) == 0


def test_order_lines_keep_the_price_paid(user, cart, product):
    cart.add(product, 1)
    order = place_order(user, cart, SHIPPING)
    Product.objects.filter(pk=product.pk).update(price=Decimal("99.00"), name="Renamed Kettle")
    item = OrderItem.objects.get(order=order)
    assert (item.product_name, item.unit_price, item.line_total) == (
        "Copper Kettle",
        Decimal("39.90"),
        Decimal("39.90"),
    )
    assert Order.objects.get(pk=order.pk).total == Decimal("39.90")


def test_order_uses_the_price_at_checkout_not_when_added(user, cart, product):
    cart.add(product, 2)
    Product.objects.filter(pk=product.pk).update(price=Decimal("30.00"))
    order = place_order(user, Cart(cart.session), SHIPPING)
    assert order.total == Decimal("60.00")
    assert order.items.get().unit_price == Decimal("30.00")


@pytest.mark.parametrize("short_first", [True, False])
def test_a_short_line_orders_nothing_and_changes_nothing(user, cart, make_product, short_first):
    # Lines are taken in id order: the short one comes first or after one already taken.
    first, second = make_product(name="Teapot", stock=5), make_product(name="Mug", stock=5)
    cart.add(first, 3)
    cart.add(second, 4)
    short = first if short_first else second
    Product.objects.filter(pk=short.pk).update(stock=2)

    with pytest.raises(CheckoutError, match=short.name) as raised:
        place_order(user, cart, SHIPPING)
    assert "Nothing was ordered" in str(raised.value)
    assert not Order.objects.exists()
    assert not OrderItem.objects.exists()
    assert stock(first) == (2 if short_first else 5)
    assert stock(second) == (5 if short_first else 2)
    assert {line.product.name: line.quantity for line in cart} == {"Teapot": 3, "Mug": 4}


def test_the_message_names_every_short_product(user, cart, make_product):
    teapot, mug, plate = (make_product(name=name) for name in ["Teapot", "Mug", "Plate"])
    for product in (teapot, mug, plate):
        cart.add(product, 2)
    Product.objects.filter(pk__in=[teapot.pk, plate.pk]).update(stock=1)
    with pytest.raises(CheckoutError) as raised:
        place_order(user, cart, SHIPPING)
    assert "Teapot" in str(raised.value)
    assert "Plate" in str(raised.value)
    assert "Mug" not in str(raised.value)


def test_the_same_checkout_token_makes_one_order(user, cart, product):
    token = uuid.uuid4()
    cart.add(product, 2)
    first = place_order(user, cart, SHIPPING, token)
    cart.add(product, 1)  # the shopper keeps shopping; a resubmitted form must not buy it
    again = place_order(user, cart, SHIPPING, token)
    assert again.pk == first.pk
    assert Order.objects.count() == 1
    assert stock(product) == 3
    assert len(cart) == 1


def test_different_tokens_make_different_orders(user, cart, product):
    cart.add(product, 1)
    place_order(user, cart, SHIPPING, uuid.uuid4())
    cart.add(product, 1)
    place_order(user, cart, SHIPPING, uuid.uuid4())
    assert Order.objects.count() == 2
    assert stock(product) == 3


def test_inactive_product_in_the_cart_is_not_ordered(user, cart, product, board):
    cart.add(product, 1)
    cart.add(board, 2)
    Product.objects.filter(pk=product.pk).update(is_active=False)
    order = place_order(user, Cart(cart.session), SHIPPING)
    assert [item.product_name for item in order.items.all()] == ["Oak Board"]
    assert order.total == Decimal("0.20")
    assert stock(product) == 5


def test_a_cart_of_only_inactive_products_orders_nothing(user, cart, product):
    cart.add(product, 1)
    Product.objects.filter(pk=product.pk).update(is_active=False)
    with pytest.raises(CheckoutError, match="empty"):
        place_order(user, Cart(cart.session), SHIPPING)
    assert not Order.objects.exists()


def test_an_empty_cart_orders_nothing(user, cart):
    with pytest.raises(CheckoutError, match="Your cart is empty"):
        place_order(user, cart, SHIPPING)
    assert not Order.objects.exists()


def test_stock_never_goes_negative(user, django_user_model, product, session_store):
    """Two shoppers each hold the last units in their carts; only the first gets them."""
    other = django_user_model.objects.create_user(username="bob", password="another-battery-staple")
    engine = type(session_store)
    first, second = Cart(engine()), Cart(engine())
    first.add(product, 4)
    second.add(product, 4)

    place_order(user, first, SHIPPING)
    with pytest.raises(CheckoutError, match="Copper Kettle"):
        place_order(other, second, SHIPPING)
    assert stock(product) == 1
    assert Order.objects.count() == 1


def test_buying_the_last_unit_leaves_zero(user, cart, product):
    cart.add(product, 5)
    place_order(user, cart, SHIPPING)
    assert stock(product) == 0


def test_another_users_checkout_token_is_refused_not_a_500(user, cart, product, django_user_model):
    token = uuid.uuid4()
    other_cart = Cart(import_module(settings.SESSION_ENGINE).SessionStore())
    cart.add(product, 1)
    other_cart.add(product, 1)
    place_order(user, cart, SHIPPING, token)
    other = django_user_model.objects.create_user("mallory", password="x-secret-2")
    with pytest.raises(CheckoutError, match="already used"):
        place_order(other, other_cart, SHIPPING, token)
    assert stock(product) == 4
    assert list(other_cart)  # nothing happened to the other shopper's cart
