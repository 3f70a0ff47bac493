"""Checkout: the one place an order is made."""

from django.db import IntegrityError, transaction
from django.db.models import F

from shop.catalog import version as catalog_version
from shop.catalog.models import Product

from .models import Order, OrderItem


class CheckoutError(Exception):
    """The order cannot be placed; the message is meant for the shopper."""


def place_order(user, cart, shipping, checkout_token=None):
    """Turn the cart into an order, all or nothing.

    Stock is taken with conditional UPDATEs (``stock >= quantity``), so concurrent
    checkouts can never drive it below zero. Prices are read from the database in the
    same transaction and snapshotted into the order lines. A repeated ``checkout_token``
    (a double-submitted form) returns the order the first submission made.
    """
    if checkout_token and (order := Order.objects.filter(user=user, checkout_token=checkout_token).first()):
        return order
    try:
        with transaction.atomic():
            return _place_order(user, cart, shipping, checkout_token)
    except IntegrityError:
        if checkout_token is None:
            raise
        # The same form won a race a moment ago: hand back its order, not a second one.
        order = Order.objects.filter(user=user, checkout_token=checkout_token).first()
        if order is None:  # someone else's token: never theirs to see
            raise CheckoutError("This checkout form was already used. Please reload the page.") from None
        return order


def _place_order(user, cart, shipping, checkout_token):
    lines = sorted(cart, key=lambda line: line.product.pk)  # one lock order: no deadlocks
    if not lines:
        raise CheckoutError("Your cart is empty.")
    short = [
        line.product.name
        for line in lines
        if not Product.objects.active()
        .filter(pk=line.product.pk, stock__gte=line.quantity)
        .update(stock=F("stock") - line.quantity)
    ]
    if short:
        raise CheckoutError(f"Not enough stock for: {', '.join(short)}. Nothing was ordered.")
    order = Order.objects.create(user=user, total=cart.total(), checkout_token=checkout_token, **shipping)
    OrderItem.objects.bulk_create(
        OrderItem(
            order=order,
            product=line.product,
            product_name=line.product.name,
            unit_price=line.price,
            quantity=line.quantity,
        )
        for line in cart  # in the order the shopper saw them, not the locking order
    )
    # The product pages show the stock, and the UPDATEs above sent no signals. Last, so that
    # the version row is locked (on PostgreSQL) only for the rest of this transaction.
    catalog_version.bump()
    cart.clear()
    return order
