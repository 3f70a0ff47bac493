"""A cookie session (signed or encrypted) must fit in a browser cookie (4096 bytes) at the largest
cart the shop allows: MAX_LINES lines of MAX_QUANTITY each, with long product ids.

The size is measured on the real ``Set-Cookie`` header the shop sends, after real POSTs.
"""

import random
from importlib import import_module

import pytest
from django.conf import settings as django_settings

from shop.cart.cart import CART_SESSION_KEY, MAX_LINES, MAX_QUANTITY
from shop.catalog.models import Product
from shop.core.profiles import REGISTRY

BROWSER_COOKIE_LIMIT = 4096

# Ten-digit ids like a long-lived shop's, and 19-digit ids scattered over the whole 64-bit
# range, which is as long and as hard to compress as an id can be.
ID_SETS = {
    "ten_digits": [10**9 + i for i in range(MAX_LINES + 1)],
    "scattered_64_bit": random.Random(4096).sample(range(10**18, 2**63), MAX_LINES + 1),
}


@pytest.fixture(params=[p for p in REGISTRY.values() if p.in_cookie], ids=str)
def cookie_engine(request, settings):
    settings.SESSION_ENGINE = request.param.engine
    return import_module(request.param.engine)


@pytest.fixture(params=ID_SETS)
def products(request, category):
    return Product.objects.bulk_create(
        Product(
            pk=pk,
            category=category,
            name=f"Product {pk}",
            slug=f"product-{pk}",
            price="9.99",
            stock=10 * MAX_QUANTITY,
        )
        for pk in ID_SETS[request.param]
    )


def session_set_cookie(response):
    """The Set-Cookie header line for the session cookie, as the browser receives it."""
    morsel = response.cookies[django_settings.SESSION_COOKIE_NAME]
    return morsel.output(header="Set-Cookie:")


@pytest.mark.django_db
def test_largest_cart_fits_in_a_browser_cookie(cookie_engine, client, user, products):
    response = client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-battery"})
    assert response.status_code == 302

    for product in products[:MAX_LINES]:
        response = client.post(f"/cart/add/{product.pk}/", {"quantity": MAX_QUANTITY})
        assert response.status_code == 302, response.text
    header = session_set_cookie(response)
    assert len(header.encode()) < BROWSER_COOKIE_LIMIT, f"{len(header)} bytes: {header[:80]}..."
    print(f"\n{cookie_engine.__name__} at the cart cap: {len(header.encode())} bytes")

    # The measured cookie is the session itself, carrying the full cart...
    carried = cookie_engine.SessionStore(
        session_key=response.cookies[django_settings.SESSION_COOKIE_NAME].value
    )
    assert len(carried[CART_SESSION_KEY]) == MAX_LINES
    assert set(carried[CART_SESSION_KEY].values()) == {MAX_QUANTITY}
    # ...and the shop reads it back: the full cart for a shopper still signed in.
    page = client.get("/cart/")
    assert page.text.count(f'name="quantity" value="{MAX_QUANTITY}"') == MAX_LINES
    assert f'data-testid="cart-count">{MAX_LINES * MAX_QUANTITY}<' in page.text
    assert "alice" in page.text

    # One more line is refused with a message, and the cookie does not grow.
    cookie_before = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    response = client.post(f"/cart/add/{products[MAX_LINES].pk}/", {"quantity": 1})
    assert response.status_code == 400
    assert f"A cart holds at most {MAX_LINES} different products." in response.text
    if django_settings.SESSION_COOKIE_NAME in response.cookies:
        assert len(session_set_cookie(response)) <= len(header)
    assert client.cookies[django_settings.SESSION_COOKIE_NAME].value == cookie_before
