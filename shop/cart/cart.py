"""The shopping cart, kept in the session whatever engine stores it.

The session holds only ``{product_id: quantity}``; products and prices are always read
from the database. The caps bound the session's size, so a cookie session (signed or encrypted)
stays under the browser's 4096-byte cookie limit at the largest cart the shop allows.
"""

import functools
from dataclasses import dataclass
from decimal import Decimal

from shop.catalog.models import Product
from shop.core.raw_sql import Select, param, quoted

CART_SESSION_KEY = "cart"
MAX_LINES = 50
MAX_QUANTITY = 99


@functools.cache
def products_statement(count):
    """SELECT every field of the products for sale among ``count`` ids (raw_sql.py's way)."""
    fields = [(Product, field.name) for field in Product._meta.concrete_fields]
    columns = ", ".join(quoted(Product, name) for _, name in fields)
    ids = ", ".join(["%s"] * count)
    active, pk = quoted(Product, "is_active"), quoted(Product, "id")
    # Names from the model, values as parameters: nothing of a request's is formatted into SQL.
    sql = f"SELECT {columns} FROM {quoted(Product)} WHERE {active} = %s AND {pk} IN ({ids})"  # noqa: S608
    return Select(sql, fields)


def products_for_sale(ids):
    """``Product.objects.active().in_bulk(ids)``, written out: the cart page and every cart change
    read the cart's products, and the ORM spent most of that read building the query (3.6 of 12.8 s
    of the cart page's profile, 300 requests). Model instances as the ORM makes them (``from_db``)."""
    ids = [pk for pk in ids if -(2**63) <= pk < 2**63]  # no row has another (a URL may say so)
    if not ids:
        return {}
    attnames = [field.attname for field in Product._meta.concrete_fields]
    rows = products_statement(len(ids)).all([param(Product, "is_active", True), *ids])
    return {product.pk: product for product in (Product.from_db("default", attnames, row) for row in rows)}


class CartError(ValueError):
    """A change the cart refuses; the message is meant for the shopper."""


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def price(self) -> Decimal:
        return self.product.price

    @property
    def total(self) -> Decimal:
        return self.product.price * self.quantity


class Cart:
    def __init__(self, session):
        self.session = session
        self.lines = self._valid_lines(session.get(CART_SESSION_KEY))
        self._loaded = None

    @staticmethod
    def _valid_lines(stored):
        """Keep only well-formed lines: a session is data from outside, never trusted."""
        if not isinstance(stored, dict):
            return {}
        return {
            key: qty
            for key, qty in stored.items()
            if Cart._is_stored_id(key) and type(qty) is int and 0 < qty <= MAX_QUANTITY
        }

    @staticmethod
    def _is_stored_id(key):
        # Exactly what save() writes, str(pk). isdigit() alone passes "²", which int()
        # refuses, and ids past 64 bits, which the database refuses: both crashed the page.
        return (
            isinstance(key, str)
            and key.isascii()
            and key.isdigit()
            and len(key) < 20
            and key == str(int(key))
            and int(key) < 2**63
        )

    def add(self, product, quantity, override=False):
        """Add ``quantity`` to the product's line, or set the line to it with ``override``."""
        key = str(product.pk)
        if not product.is_active:
            raise CartError(f"{product.name} is not for sale.")
        if key not in self.lines and len(self.lines) >= MAX_LINES:
            raise CartError(f"A cart holds at most {MAX_LINES} different products.")
        new_quantity = quantity if override else self.lines.get(key, 0) + quantity
        if not 1 <= new_quantity <= MAX_QUANTITY:
            raise CartError(f"You can buy between 1 and {MAX_QUANTITY} of {product.name}.")
        if new_quantity > product.stock:
            raise CartError(f"Only {product.stock} of {product.name} left in stock.")
        self.lines[key] = new_quantity
        self.save()

    def remove(self, product_id):
        if self.lines.pop(str(product_id), None) is not None:
            self.save()

    def clear(self):
        self.lines = {}
        self._loaded = None
        self.session.pop(CART_SESSION_KEY, None)

    def save(self):
        self._loaded = None
        self.session[CART_SESSION_KEY] = self.lines
        # Assigning the same dict object back would not mark the session dirty.
        self.session.modified = True

    def __iter__(self):
        """CartLines for the products still for sale, all loaded in one query (once)."""
        if self._loaded is None:
            products = products_for_sale([int(key) for key in self.lines])
            withdrawn = [key for key in self.lines if int(key) not in products]
            if withdrawn:
                # Forget them, so the header count and the line cap agree with what is shown.
                for key in withdrawn:
                    del self.lines[key]
                self.save()
            self._loaded = [CartLine(products[int(key)], quantity) for key, quantity in self.lines.items()]
        return iter(self._loaded)

    def __len__(self):
        """Units in the cart (what the header shows), without touching the database."""
        return sum(self.lines.values())

    def total(self):
        return sum((line.total for line in self), Decimal("0.00"))
