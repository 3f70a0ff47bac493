from decimal import Decimal

import pytest

from shop.catalog.models import Category
from shop.catalog.views import PRODUCTS_PER_PAGE

pytestmark = pytest.mark.django_db


def cards(response):
    """How many product cards the page shows."""
    return response.content.decode().count('<li class="card">')


def test_list_shows_active_products_with_contract_links(client, product):
    response = client.get("/")
    assert response.status_code == 200
    assert 'href="/p/copper-kettle/"' in response.text
    assert "Copper Kettle" in response.text
    assert "$39.90" in response.text


def test_inactive_product_is_invisible_in_list_and_detail(client, make_product):
    make_product(name="Hidden Vase", slug="hidden-vase", is_active=False)
    assert "Hidden Vase" not in client.get("/").text
    assert "Hidden Vase" not in client.get("/?q=vase").text
    assert "Hidden Vase" not in client.get("/c/kitchen/").text
    assert client.get("/p/hidden-vase/").status_code == 404


def test_sold_out_product_is_listed_as_sold_out(client, make_product):
    make_product(name="Rare Teapot", slug="rare-teapot", stock=0)
    response = client.get("/")
    assert "Rare Teapot" in response.text
    assert "Sold out" in response.text


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("kettle", True),  # name, any case
        ("STOVETOP", True),  # description
        ("teapot", False),
    ],
)
def test_search_covers_name_and_description(client, make_product, query, found):
    make_product(name="Copper Kettle", slug="copper-kettle", description="Whistles on any stovetop.")
    make_product(name="Oak Board", slug="oak-board", description="End grain.")
    response = client.get("/", {"q": query})
    assert response.status_code == 200
    assert ("Copper Kettle" in response.text) is found
    assert "Oak Board" not in response.text
    if not found:
        assert "No products found." in response.text


def test_search_text_is_escaped_in_the_page(client, product):
    response = client.get("/", {"q": '<script>alert("x")</script>'})
    assert response.status_code == 200
    assert "<script>alert" not in response.text
    assert "&lt;script&gt;alert" in response.text


def test_pagination_splits_the_catalog(client, make_product):
    for i in range(PRODUCTS_PER_PAGE + 6):
        make_product(name=f"Mug {i:02}")
    first = client.get("/")
    assert cards(first) == PRODUCTS_PER_PAGE
    assert "Page 1 of 2" in first.text
    assert 'href="?page=2"' in first.text
    second = client.get("/", {"page": 2})
    assert cards(second) == 6
    assert "Mug 29" in second.text
    assert "Mug 29" not in first.text


def test_pagination_keeps_the_search(client, make_product):
    for i in range(PRODUCTS_PER_PAGE + 1):
        make_product(name=f"Blue Mug {i:02}")
    make_product(name="Red Plate")
    response = client.get("/", {"q": "blue mug"})
    assert 'href="?q=blue%20mug&amp;page=2"' in response.text
    assert cards(client.get("/", {"q": "blue mug", "page": 2})) == 1


@pytest.mark.parametrize(
    ("page", "shown"), [("abc", 1), ("", 1), ("-1", 2), ("0", 2), ("999", 2), ("1e9", 1)]
)
def test_bad_page_number_shows_a_page_not_an_error(client, make_product, page, shown):
    for i in range(PRODUCTS_PER_PAGE + 1):
        make_product(name=f"Mug {i:02}")
    response = client.get("/", {"page": page})
    assert response.status_code == 200
    assert f"Page {shown} of 2" in response.text


def test_category_page_shows_only_its_products(client, make_product, category):
    garden = Category.objects.create(name="Garden", slug="garden")
    make_product(name="Copper Kettle")
    make_product(name="Watering Can", category=garden)
    response = client.get("/c/garden/")
    assert response.status_code == 200
    assert "Watering Can" in response.text
    assert "Copper Kettle" not in response.text
    # every category is offered in the sidebar
    assert 'href="/c/kitchen/"' in response.text


def test_unknown_category_is_404(client, category):
    assert client.get("/c/no-such-thing/").status_code == 404


def test_detail_shows_price_stock_and_add_form(client, product):
    response = client.get("/p/copper-kettle/")
    assert response.status_code == 200
    assert "$39.90" in response.text
    assert "5 in stock" in response.text
    assert f'action="/cart/add/{product.pk}/"' in response.text
    assert 'name="quantity"' in response.text


def test_detail_of_sold_out_product_offers_no_add_form(client, make_product):
    make_product(name="Rare Teapot", slug="rare-teapot", price=Decimal("80.00"), stock=0)
    response = client.get("/p/rare-teapot/")
    assert response.status_code == 200
    assert "Sold out" in response.text
    assert 'name="quantity"' not in response.text


def test_unknown_product_is_404(client, product):
    assert client.get("/p/no-such-product/").status_code == 404


@pytest.mark.parametrize("url", ["/", "/p/copper-kettle/"])
def test_catalog_pages_refuse_post(client, product, url):
    assert client.post(url).status_code == 405


# The categories, the page count and the products with their categories; plus the
# category itself on a category page.
@pytest.mark.parametrize(("url", "budget"), [("/", 3), ("/?q=mug", 3), ("/c/kitchen/", 4)])
@pytest.mark.parametrize("count", [5, PRODUCTS_PER_PAGE])
def test_list_query_count_does_not_grow_with_the_page(
    client, make_product, django_assert_max_num_queries, url, budget, count
):
    for i in range(count):
        make_product(name=f"Mug {i:02}")
    with django_assert_max_num_queries(budget):
        response = client.get(url)
    assert cards(response) == count


@pytest.mark.parametrize("count", [5, PRODUCTS_PER_PAGE])
def test_list_query_count_for_a_signed_in_shopper(
    shopper_client, make_product, django_assert_max_num_queries, count
):
    for i in range(count):
        make_product(name=f"Mug {i:02}")
    # the session, the user and its device record (shop/accounts/devices.py) on top of the
    # anonymous page's three
    with django_assert_max_num_queries(6):
        response = shopper_client.get("/")
    assert cards(response) == count
