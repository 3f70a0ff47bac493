"""Search answers from the trigram index exactly what a substring match would answer."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Q

from shop.catalog.models import Product
from shop.catalog.search import search

pytestmark = pytest.mark.django_db


def names(queryset):
    return sorted(queryset.values_list("name", flat=True))


def substring_match(text):
    return Product.objects.filter(Q(name__icontains=text) | Q(description__icontains=text))


@pytest.mark.parametrize(
    "text",
    [
        "oak",
        "OAK",
        "kettle",
        "walnut ser",
        "in copper,",
        "garden range",
        "Chef's",
        "zzz",
        "ok",
        "a",
        '"oak"',
        "oak OR mug",
        "oak*",
        "-oak",
        "NEAR(oak mug)",
        "^oak",
        "100%",
        "under_score",
    ],
)
def test_search_finds_what_a_substring_match_finds(text):
    call_command("seed_catalog", products=400, stdout=StringIO())
    assert names(search(Product.objects.all(), text)) == names(substring_match(text))


def test_the_index_follows_inserts_renames_and_deletes(make_product):
    kettle = make_product(name="Copper Kettle", description="Boils water")
    assert names(search(Product.objects.all(), "copper")) == ["Copper Kettle"]
    kettle.name = "Brass Kettle"
    kettle.save()
    assert names(search(Product.objects.all(), "copper")) == []
    assert names(search(Product.objects.all(), "brass")) == ["Brass Kettle"]
    bell = Product(category=kettle.category, name="Brass Bell", slug="brass-bell", price=1)
    Product.objects.bulk_create([bell])
    assert names(search(Product.objects.all(), "brass")) == ["Brass Bell", "Brass Kettle"]
    kettle.delete()
    assert names(search(Product.objects.all(), "brass")) == ["Brass Bell"]


def test_search_keeps_the_other_filters(make_product):
    make_product(name="Oak Board", is_active=False)
    make_product(name="Oak Spoon")
    assert names(search(Product.objects.active(), "oak")) == ["Oak Spoon"]
