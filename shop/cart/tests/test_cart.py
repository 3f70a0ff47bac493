import json
from decimal import Decimal

import pytest

from shop.cart.cart import CART_SESSION_KEY, MAX_LINES, MAX_QUANTITY, Cart, CartError, products_for_sale
from shop.catalog.models import Product


@pytest.fixture
def cart(session_store):
    return Cart(session_store)


def reloaded(session):
    """The cart as the next request sees it: saved, then read back from the store."""
    session.save()
    return Cart(type(session)(session_key=session.session_key))


def quantities(cart):
    return {line.product.name: line.quantity for line in cart}


def test_a_new_cart_is_empty(cart):
    assert len(cart) == 0
    assert list(cart) == []
    assert cart.total() == Decimal("0.00")


def test_add_puts_the_product_in_the_cart(cart, session_store, product):
    cart.add(product, 2)
    assert quantities(reloaded(session_store)) == {"Copper Kettle": 2}


def test_add_accumulates(cart, product):
    cart.add(product, 2)
    cart.add(product, 3)
    assert quantities(cart) == {"Copper Kettle": 5}


def test_override_sets_the_quantity(cart, product):
    cart.add(product, 4)
    cart.add(product, 1, override=True)
    assert quantities(cart) == {"Copper Kettle": 1}


def test_remove_drops_the_line(cart, session_store, product, make_product):
    other = make_product(name="Oak Board")
    cart.add(product, 2)
    cart.add(other, 1)
    cart.remove(product.pk)
    assert quantities(reloaded(session_store)) == {"Oak Board": 1}


def test_removing_what_is_not_there_changes_nothing(cart, product):
    cart.add(product, 2)
    cart.remove(product.pk + 1000)
    assert quantities(cart) == {"Copper Kettle": 2}


def test_clear_empties_the_cart(cart, session_store, product):
    cart.add(product, 2)
    cart.clear()
    assert len(cart) == 0
    assert list(cart) == []
    assert CART_SESSION_KEY not in session_store
    assert len(reloaded(session_store)) == 0


def test_len_counts_units_not_lines(cart, product, make_product):
    cart.add(product, 3)
    cart.add(make_product(), 4)
    assert len(cart) == 7


def test_session_holds_only_ids_and_quantities(cart, session_store, product):
    cart.add(product, 2)
    assert session_store[CART_SESSION_KEY] == {str(product.pk): 2}
    json.dumps(session_store[CART_SESSION_KEY])  # any engine can store it


@pytest.mark.parametrize("line_count", [1, 20])
def test_iteration_loads_every_product_in_one_query(
    session_store, make_product, django_assert_num_queries, line_count
):
    cart = Cart(session_store)
    for _ in range(line_count):
        cart.add(make_product(), 1)
    cart = reloaded(session_store)
    with django_assert_num_queries(1):
        lines = list(cart)
        names = [line.product.name for line in lines]
        total = cart.total()
    assert len(names) == line_count
    assert total == Decimal("12.50") * line_count


def test_total_is_an_exact_decimal(cart, make_product):
    cart.add(make_product(price=Decimal("0.10")), 3)
    assert cart.total() == Decimal("0.30")
    assert isinstance(cart.total(), Decimal)
    cart.add(make_product(price=Decimal("19.99")), 2)
    assert cart.total() == Decimal("40.28")


def test_line_price_and_total(cart, product):
    cart.add(product, 3)
    (line,) = cart
    assert line.price == Decimal("39.90")
    assert line.total == Decimal("119.70")


def test_prices_come_from_the_database_not_the_session(cart, session_store, product):
    cart.add(product, 2)
    assert cart.total() == Decimal("79.80")
    Product.objects.filter(pk=product.pk).update(price=Decimal("10.00"))
    assert reloaded(session_store).total() == Decimal("20.00")


def test_inactive_product_is_refused(cart, make_product):
    hidden = make_product(name="Hidden Vase", is_active=False)
    with pytest.raises(CartError, match="Hidden Vase is not for sale"):
        cart.add(hidden, 1)
    assert len(cart) == 0


def test_product_that_becomes_inactive_drops_out_of_lines_and_total(
    cart, session_store, product, make_product
):
    cart.add(product, 1)
    cart.add(make_product(name="Oak Board", price=Decimal("5.00")), 1)
    Product.objects.filter(pk=product.pk).update(is_active=False)
    cart = reloaded(session_store)
    assert quantities(cart) == {"Oak Board": 1}
    assert cart.total() == Decimal("5.00")


def test_deleted_product_drops_out_of_lines(cart, session_store, product):
    cart.add(product, 1)
    product.delete()
    cart = reloaded(session_store)
    assert list(cart) == []
    assert cart.total() == Decimal("0.00")


def test_cannot_add_more_than_the_stock(cart, product):
    with pytest.raises(CartError, match="Only 5 of Copper Kettle left in stock"):
        cart.add(product, 6)
    cart.add(product, 3)
    with pytest.raises(CartError, match="Only 5"):
        cart.add(product, 3)
    assert quantities(cart) == {"Copper Kettle": 3}


def test_quantity_is_capped(cart, make_product):
    plenty = make_product(name="Paper Cup", stock=10_000)
    cart.add(plenty, MAX_QUANTITY)
    with pytest.raises(CartError, match=f"between 1 and {MAX_QUANTITY}"):
        cart.add(plenty, 1)
    with pytest.raises(CartError, match=f"between 1 and {MAX_QUANTITY}"):
        cart.add(plenty, MAX_QUANTITY + 1, override=True)
    assert quantities(cart) == {"Paper Cup": MAX_QUANTITY}


@pytest.mark.parametrize("quantity", [0, -1])
def test_quantity_must_be_positive(cart, product, quantity):
    cart.add(product, 2)
    with pytest.raises(CartError):
        cart.add(product, quantity, override=True)
    with pytest.raises(CartError):
        cart.add(product, -2)
    assert quantities(cart) == {"Copper Kettle": 2}


def test_line_count_is_capped_with_a_clear_message(cart, make_product):
    products = [make_product() for _ in range(MAX_LINES + 1)]
    for product in products[:MAX_LINES]:
        cart.add(product, 1)
    with pytest.raises(CartError, match=f"at most {MAX_LINES} different products"):
        cart.add(products[-1], 1)
    assert len(list(cart)) == MAX_LINES
    # a full cart still lets the shopper change what is in it
    cart.add(products[0], 2)
    assert len(cart) == MAX_LINES + 2


@pytest.mark.parametrize(
    "stored",
    [
        "garbage",
        None,
        ["1", 2],
        {"abc": 1},
        {"-1": 1},
        {"1": "2"},
        {"1": 0},
        {"1": -3},
        {"1": MAX_QUANTITY + 1},
        {"1": True},
        {"1": 1.5},
        {"1": None},
        {"²": 1},  # a digit to str.isdigit(), not to int()
        {"٣": 1},  # an Arabic-Indic 3: int() reads it, but it is not how we store 3
        {"9" * 40: 1},  # far beyond any database integer
        {"9" * 5000: 1},  # more digits than int() reads
        {"007": 1},  # not how we store 7
    ],
)
def test_garbage_in_the_session_is_ignored(session_store, product, stored):
    session_store[CART_SESSION_KEY] = stored
    cart = Cart(session_store)
    assert len(cart) == 0
    assert list(cart) == []
    assert cart.total() == Decimal("0.00")
    cart.add(product, 1)
    assert quantities(cart) == {"Copper Kettle": 1}


def test_good_lines_survive_next_to_garbage(session_store, product):
    session_store[CART_SESSION_KEY] = {str(product.pk): 2, "x": 3, "7": "many"}
    assert quantities(Cart(session_store)) == {"Copper Kettle": 2}


def test_withdrawn_lines_are_forgotten_once_seen(cart, session_store, product, make_product):
    """Else the header would count units the cart page does not show, and they would hold a line."""
    cart.add(product, 3)
    cart.add(make_product(name="Oak Board"), 1)
    Product.objects.filter(pk=product.pk).update(is_active=False)
    cart = reloaded(session_store)
    assert len(cart) == 4  # the header's count does not touch the database...
    list(cart)
    assert len(cart) == 1  # ...but once the lines are loaded, it agrees with them
    assert len(reloaded(cart.session)) == 1


def test_the_cart_reads_its_products_as_the_orm_does(make_product, db):
    """products_for_sale is Product.objects.active().in_bulk(ids), without the ORM's query building:
    the same products, the same field values and types (a Decimal price, an aware datetime)."""
    kept, withdrawn = make_product(price=Decimal("12.50")), make_product()
    withdrawn.is_active = False
    withdrawn.save()
    ids = [kept.pk, withdrawn.pk, 10**9]
    expected = Product.objects.active().in_bulk(ids)
    found = products_for_sale(ids)
    assert list(found) == list(expected) == [kept.pk]
    for field in Product._meta.concrete_fields:
        assert getattr(found[kept.pk], field.attname) == getattr(expected[kept.pk], field.attname)
    assert type(found[kept.pk].price) is Decimal and found[kept.pk].created.tzinfo is not None
    assert products_for_sale([]) == products_for_sale([2**64]) == {}  # no row has an id past 64 bits
