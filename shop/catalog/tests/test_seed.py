import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from shop.catalog.management.commands.seed_catalog import CATEGORIES
from shop.catalog.models import Category, Product

pytestmark = pytest.mark.django_db


def seed(*args):
    out = io.StringIO()
    call_command("seed_catalog", *args, stdout=out, stderr=out)
    return out.getvalue()


def catalog():
    """Everything a shopper sees of the catalog, in a stable order."""
    return list(
        Product.objects.order_by("slug").values_list(
            "slug", "name", "description", "price", "stock", "category__name", "is_active"
        )
    )


def test_default_seed_fills_a_realistic_catalog():
    output = seed()
    assert Product.objects.count() == 200
    assert Category.objects.count() == len(CATEGORIES) == 8
    assert "200 products added" in output
    # every category has something in it
    assert set(Product.objects.values_list("category__name", flat=True)) == set(CATEGORIES)
    for product in Product.objects.select_related("category"):
        _, low, high = CATEGORIES[product.category.name]
        assert isinstance(product.price, Decimal)
        assert low <= product.price <= high
        assert product.stock >= 0
        assert product.get_absolute_url() == f"/p/{product.slug}/"


def test_seeding_again_changes_nothing():
    seed()
    before = catalog()
    output = seed()
    assert catalog() == before
    assert "0 products added, 200 in all" in output


def test_seeding_is_deterministic():
    seed()
    first = catalog()
    Product.objects.all().delete()
    Category.objects.all().delete()
    seed()
    assert catalog() == first


def test_more_products_extend_the_same_catalog():
    seed("--products", "50")
    first = catalog()
    seed("--products", "120")
    assert Product.objects.count() == 120
    assert set(first) <= set(catalog())


def test_products_option_sets_the_size():
    seed("--products", "7")
    assert Product.objects.count() == 7


def test_if_empty_leaves_an_existing_catalog_alone(product):
    output = seed("--if-empty")
    assert list(Product.objects.all()) == [product]
    assert "nothing to do" in output


def test_if_empty_seeds_an_empty_catalog():
    seed("--if-empty", "--products", "10")
    assert Product.objects.count() == 10


def test_a_large_catalog_is_bulk_inserted(django_assert_max_num_queries):
    # In batches (a few seconds), not a query per product (minutes): counted, not timed, since the
    # machine's load would decide a time.
    with django_assert_max_num_queries(40):
        seed("--products", "20000")
    assert Product.objects.count() == 20000
    # more products than name combinations: later ones get a series, never a clash
    assert Product.objects.filter(name__endswith="Series 2").exists()
