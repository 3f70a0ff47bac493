import re

import pytest
from django.test import Client

from shop.cart.cart import CART_SESSION_KEY, MAX_QUANTITY
from shop.catalog.models import Product

pytestmark = pytest.mark.django_db


def add(client, product, quantity, **extra):
    return client.post(f"/cart/add/{product.pk}/", {"quantity": quantity, **extra})


def stored(client):
    """The cart lines the session holds after the request."""
    return client.session.get(CART_SESSION_KEY, {})


def header_count(response):
    match = re.search(r'data-testid="cart-count">(\d+)<', response.text)
    assert match, "the header shows no cart count"
    return int(match.group(1))


def test_add_puts_the_quantity_in_the_cart_and_shows_it(client, product):
    response = add(client, product, 2)
    assert response.status_code == 302
    assert response["Location"] == "/cart/"
    page = client.get("/cart/")
    assert "Copper Kettle" in page.text
    assert 'href="/p/copper-kettle/"' in page.text
    assert 'name="quantity" value="2"' in page.text
    assert "Your cart now holds 2 × Copper Kettle." in page.text
    assert "$79.80" in page.text
    assert header_count(page) == 2


def test_adding_again_accumulates(client, product):
    add(client, product, 2)
    add(client, product, 1)
    assert stored(client) == {str(product.pk): 3}


def test_override_sets_the_line(client, product):
    add(client, product, 4)
    response = add(client, product, 1, override="1")
    assert response.status_code == 302
    assert 'name="quantity" value="1"' in client.get("/cart/").text


def test_cart_page_shows_every_line_and_the_total(client, product, make_product):
    board = make_product(name="Oak Board", slug="oak-board")
    add(client, product, 1)
    add(client, board, 3)
    page = client.get("/cart/")
    assert page.text.count('name="quantity"') == 2
    assert 'name="quantity" value="3"' in page.text
    assert 'href="/p/oak-board/"' in page.text
    assert "$37.50" in page.text  # 3 × 12.50
    assert "$77.40" in page.text  # 39.90 + 37.50


def test_empty_cart_page(client):
    response = client.get("/cart/")
    assert response.status_code == 200
    assert "Your cart is empty." in response.text


@pytest.mark.parametrize("quantity", ["0", "-1", str(10**20), "abc", "", "1.5"])
def test_bad_quantity_is_a_form_error_and_changes_nothing(client, product, quantity):
    add(client, product, 2)
    response = add(client, product, quantity)
    assert response.status_code == 400
    assert 'role="alert"' in response.text
    assert "Copper Kettle" in response.text
    assert stored(client) == {str(product.pk): 2}


def test_missing_quantity_is_a_form_error(client, product):
    response = client.post(f"/cart/add/{product.pk}/")
    assert response.status_code == 400
    assert "This field is required." in response.text
    assert stored(client) == {}


@pytest.mark.parametrize("quantity", ["0", "abc", str(MAX_QUANTITY + 1)])
def test_bad_quantity_on_the_cart_page_is_shown_there(client, product, quantity):
    add(client, product, 2)
    response = add(client, product, quantity, override="1")
    assert response.status_code == 400
    assert "Your cart" in response.text
    assert 'class="message error"' in response.text
    assert "Copper Kettle:" in response.text
    assert 'name="quantity" value="2"' in response.text
    assert stored(client) == {str(product.pk): 2}


def test_more_than_the_stock_is_refused_with_a_message(client, product):
    response = add(client, product, 6)
    assert response.status_code == 400
    assert "Only 5 of Copper Kettle left in stock." in response.text
    assert stored(client) == {}


def test_unknown_product_is_404(client, product):
    response = client.post("/cart/add/999999/", {"quantity": 1})
    assert response.status_code == 404
    assert stored(client) == {}


def test_inactive_product_is_404(client, make_product):
    hidden = make_product(is_active=False)
    assert add(client, hidden, 1).status_code == 404
    assert stored(client) == {}


@pytest.mark.parametrize("url", ["/cart/add/{pk}/", "/cart/remove/{pk}/"])
def test_changing_the_cart_needs_post(client, product, url):
    response = client.get(url.format(pk=product.pk))
    assert response.status_code == 405
    assert stored(client) == {}


def test_remove_drops_the_line(client, product, make_product):
    board = make_product(name="Oak Board")
    add(client, product, 1)
    add(client, board, 1)
    response = client.post(f"/cart/remove/{product.pk}/")
    assert response.status_code == 302
    assert response["Location"] == "/cart/"
    page = client.get("/cart/")
    assert "Removed Copper Kettle from your cart." in page.text
    assert 'href="/p/copper-kettle/"' not in page.text
    assert stored(client) == {str(board.pk): 1}


def test_remove_of_an_unknown_product_is_404(client, product):
    add(client, product, 1)
    assert client.post("/cart/remove/999999/").status_code == 404
    assert stored(client) == {str(product.pk): 1}


@pytest.mark.parametrize(
    "url", ["/", "/c/kitchen/", "/p/copper-kettle/", "/cart/", "/accounts/login/", "/nowhere/"]
)
def test_header_shows_the_cart_count_on_every_page(client, product, make_product, url):
    add(client, product, 2)
    add(client, make_product(), 3)
    assert header_count(client.get(url)) == 5


def test_header_count_on_signed_in_pages(shopper_client, product):
    add(shopper_client, product, 4)
    for url in ["/accounts/orders/", "/checkout/", "/accounts/password_change/"]:
        assert header_count(shopper_client.get(url)) == 4


def test_missing_csrf_token_is_403_and_changes_nothing(product):
    browser = Client(enforce_csrf_checks=True)
    browser.get("/p/copper-kettle/")
    response = browser.post(f"/cart/add/{product.pk}/", {"quantity": 1})
    assert response.status_code == 403
    assert stored(browser) == {}


def test_the_page_form_token_is_accepted(product):
    """The other half of the CSRF test: the same client with the page's token succeeds."""
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/p/copper-kettle/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = browser.post(f"/cart/add/{product.pk}/", {"quantity": 1, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert stored(browser) == {str(product.pk): 1}


@pytest.mark.parametrize("line_count", [1, 20])
def test_cart_page_query_count_does_not_grow_with_lines(
    client, make_product, django_assert_max_num_queries, line_count
):
    for _ in range(line_count):
        add(client, make_product(), 1)
    # the session, then every product in one query
    with django_assert_max_num_queries(2):
        page = client.get("/cart/")
    assert page.text.count('name="quantity"') == line_count


def test_a_product_withdrawn_from_sale_leaves_the_cart_and_its_count(client, product, make_product):
    board = make_product(name="Oak Board")
    add(client, product, 2)
    add(client, board, 1)
    Product.objects.filter(pk=product.pk).update(is_active=False)
    page = client.get("/cart/")
    assert 'href="/p/copper-kettle/"' not in page.text
    assert header_count(page) == 1  # the header agrees with the lines shown
    assert header_count(client.get("/")) == 1
    assert stored(client) == {str(board.pk): 1}


def test_a_deleted_product_leaves_the_cart_and_its_count(client, product):
    add(client, product, 2)
    product.delete()
    page = client.get("/cart/")
    assert "Your cart is empty." in page.text
    assert header_count(page) == 0


def test_the_csrf_endpoint_gives_a_token_and_its_cookie_and_reads_no_session(product):
    """What nginx asks for to fill a cached product page's form (shop/catalog/csrf_slot.py)."""
    browser = Client(enforce_csrf_checks=True)
    response = browser.get("/cart/csrf/")
    assert response.status_code == 204
    assert "no-store" in response["Cache-Control"]
    assert list(response.cookies) == ["csrftoken"]
    token = response["X-CSRF-Token"]
    assert add(browser, product, 1, csrfmiddlewaretoken=token).status_code == 302
    assert stored(browser) == {str(product.pk): 1}
