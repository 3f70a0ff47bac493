"""Checkouts racing through nginx and several gunicorn servers, on SQLite and on PostgreSQL.

Every shopper is a different user, logged in beforehand (see ``helpers.logged_in``); the
threads are released together by a barrier, so the servers really take the stock at once.
"""

import collections
import functools
import re
import secrets
import threading

import pytest

from shop.core.tests.stack_helpers import (
    in_threads,
    logged_in,
    new_product,
    nginx_outcomes,
    sql,
    stock,
)
from tools.client import ADDRESS, CHECKOUT_TOKEN, CSRF_FIELD, served_by

pytestmark = pytest.mark.stack

SHOPPERS = 50
STOCK = 10


STACK = {"profile": "db", "servers": 3, "workers": 2}
DATABASES = [{"db": "sqlite"}, {"db": "postgres"}]


def race(shoppers, posts_each=1):
    """Every shopper opens the checkout page, then all post it at once, ``posts_each`` times the
    same form (a double click is two). Returns [(shopper index, response)]."""
    forms, results = {}, []

    def open_form(index):
        page = shoppers[index].get("/checkout/")
        forms[index] = {
            **ADDRESS,
            "checkout_token": CHECKOUT_TOKEN.search(page.text)[1],
            "csrfmiddlewaretoken": CSRF_FIELD.search(page.text)[1],
        }

    def post(index):
        barrier.wait(timeout=60)
        results.append((index, shoppers[index].post("/checkout/", data=forms[index])))

    in_threads([functools.partial(open_form, index) for index in range(len(shoppers))])
    barrier = threading.Barrier(len(shoppers) * posts_each)
    in_threads([functools.partial(post, index) for index in range(len(shoppers)) for _ in range(posts_each)])
    return results


def order_lines(stack, product_id):
    return sql(stack, "SELECT order_id, quantity FROM orders_orderitem WHERE product_id = %s", product_id)


@pytest.mark.parametrize("stack", DATABASES, indirect=True)
def test_fifty_shoppers_race_for_ten_units(stack):
    tag = secrets.token_hex(3)
    product_id = new_product(stack, f"last-ten-{tag}", STOCK)
    shoppers = logged_in(stack, [f"racer-{tag}-{n}" for n in range(SHOPPERS)], cart={product_id: 1})

    results = race(shoppers)

    statuses = collections.Counter(response.status_code for _, response in results)
    assert statuses == {302: STOCK, 409: SHOPPERS - STOCK}, statuses
    placed = {
        int(re.fullmatch(r"/orders/(\d+)/", r.headers.get("Location"))[1])
        for _, r in results
        if r.status_code == 302
    }
    refused = [(index, response) for index, response in results if response.status_code == 409]
    for _, response in refused:
        assert "Not enough stock for: Last Ten" in response.text and "Nothing was ordered" in response.text
    # nginx's own view: no server answered 5xx to any of them, and nothing was retried.
    outcomes = nginx_outcomes(stack, [response.headers.get("X-Request-ID") for _, response in results])
    assert len(outcomes) == SHOPPERS
    assert all(len(upstreams) == 1 and upstreams[0] < "500" for _, upstreams in outcomes.values()), outcomes
    assert len({served_by(response) for _, response in results}) == 3

    lines = order_lines(stack, product_id)
    assert sorted(order for order, _ in lines) == sorted(placed)
    assert {quantity for _, quantity in lines} == {1}
    assert stock(stack, product_id) == 0
    # The refused shoppers keep their cart: nothing of a failed checkout sticks.
    assert {shoppers[index].probe()["cart_items"] for index, _ in refused} == {1}


@pytest.mark.parametrize("stack", DATABASES, indirect=True)
def test_a_double_submitted_checkout_makes_one_order(stack):
    """Five shoppers each post their checkout form twice at the same instant (a double click)."""
    tag = secrets.token_hex(3)
    product_id = new_product(stack, f"double-{tag}", 20)
    shoppers = logged_in(stack, [f"double-{tag}-{n}" for n in range(5)], cart={product_id: 2})

    results = race(shoppers, posts_each=2)

    assert [response.status_code for _, response in results] == [302] * 10, [r.text[:300] for _, r in results]
    locations = collections.defaultdict(set)
    for index, response in results:
        locations[index].add(response.headers.get("Location"))
    assert all(len(pair) == 1 for pair in locations.values()), locations  # both clicks: the same order
    lines = order_lines(stack, product_id)
    assert len(lines) == 5
    assert {f"/orders/{order}/" for order, _ in lines} == set.union(*locations.values())
    assert stock(stack, product_id) == 20 - 5 * 2
