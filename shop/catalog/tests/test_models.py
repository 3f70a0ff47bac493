from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError

from shop.catalog.models import Category, Product


def test_urls_follow_the_contract(product, category):
    assert product.get_absolute_url() == "/p/copper-kettle/"
    assert category.get_absolute_url() == "/c/kitchen/"


def test_str_is_the_name(product, category):
    assert str(product) == "Copper Kettle"
    assert str(category) == "Kitchen"


def test_price_is_an_exact_decimal(make_product):
    made = make_product(price=Decimal("0.10"))
    price = Product.objects.get(pk=made.pk).price
    assert isinstance(price, Decimal)
    assert price * 3 == Decimal("0.30")


def test_active_excludes_inactive_products(make_product):
    shown = make_product()
    make_product(is_active=False)
    assert list(Product.objects.active()) == [shown]


def test_products_are_listed_by_name(make_product):
    make_product(name="Teapot")
    make_product(name="Apron")
    make_product(name="Mug")
    assert [p.name for p in Product.objects.all()] == ["Apron", "Mug", "Teapot"]


def test_the_database_refuses_negative_stock(product):
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(stock=F("stock") - 6)
    product.refresh_from_db()
    assert product.stock == 5


def test_a_category_with_products_cannot_be_deleted(product, category):
    with pytest.raises(ProtectedError):
        category.delete()
    assert Category.objects.filter(pk=category.pk).exists()
