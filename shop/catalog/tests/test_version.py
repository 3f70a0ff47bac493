"""The catalog version changes with everything a catalog page shows, and only then."""

import io
from decimal import Decimal
from importlib import import_module

import pytest
from django.conf import settings
from django.core.management import call_command

from shop.cart.cart import Cart
from shop.catalog import version
from shop.catalog.models import CatalogVersion, Category, Product
from shop.orders.services import CheckoutError, place_order

pytestmark = pytest.mark.django_db

SHIPPING = {"full_name": "Ada", "address": "1 Loop Road", "city": "Localhost", "postal_code": "12345"}


@pytest.fixture
def cart():
    return Cart(import_module(settings.SESSION_ENGINE).SessionStore())


def changes(action):
    before = version.current()
    action()
    return version.current() != before


def test_the_migration_creates_the_version_row():
    assert version.current() is not None


def test_saving_a_product_changes_the_version(product):
    product.price = Decimal("41.00")
    assert changes(product.save)


def test_creating_and_deleting_products_change_the_version(make_product, product):
    assert changes(make_product)
    assert changes(product.delete)


def test_renaming_or_adding_a_category_changes_the_version(category):
    category.name = "Kitchenware"
    assert changes(category.save)
    assert changes(lambda: Category.objects.create(name="Garden", slug="garden"))


def test_a_checkout_changes_the_version(user, cart, product):
    """place_order takes stock with conditional UPDATEs, which send no signals."""
    cart.add(product, 2)
    assert changes(lambda: place_order(user, cart, SHIPPING))
    assert Product.objects.get(pk=product.pk).stock == 3


def test_a_refused_checkout_leaves_the_version(user, cart, product):
    cart.add(product, 5)
    Product.objects.filter(pk=product.pk).update(stock=1)  # sold meanwhile
    before = version.current()
    with pytest.raises(CheckoutError):
        place_order(user, cart, SHIPPING)
    assert version.current() == before


def test_seeding_the_catalog_changes_the_version():
    """bulk_create sends no signals either."""
    assert changes(lambda: call_command("seed_catalog", products=3, stdout=io.StringIO()))


def test_reading_a_page_leaves_the_version(client, product):
    assert not changes(lambda: client.get("/p/copper-kettle/"))
    assert not changes(lambda: client.get("/"))


def test_a_missing_version_row_is_no_version_until_the_next_bump():
    CatalogVersion.objects.all().delete()
    assert version.current() is None
    version.bump()
    assert version.current() is not None


def test_the_version_read_in_a_query_is_the_current_one(category):
    [annotated] = Category.objects.annotate(catalog_version=version.in_query())
    assert annotated.catalog_version == version.current()
