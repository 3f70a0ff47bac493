"""A shopper's whole visit through nginx, with every request free to land on any server.

The profiles that keep sessions where every server can read them; ``locmem`` and ``file``
are the lab's to show (each server, or each host, keeps its own).
"""

import re
import secrets

import pytest

from tools.client import Browser, products_for_sale

pytestmark = pytest.mark.stack

PASSWORD = "a-long-password-for-tests-7"


SHARED = ["db", "cache", "cached_db", "signed_cookies", "encrypted_cookies"]


def shop_across_servers(stack):
    browser = Browser(stack.url)
    username = f"shopper-{secrets.token_hex(4)}"
    fields = {"username": username, "password1": PASSWORD, "password2": PASSWORD}
    signup = browser.submit("/accounts/signup/", "/accounts/signup/", fields)
    assert signup.status_code == 302, signup.text

    page, product_id = products_for_sale(browser)[0]
    added = browser.submit(page, f"/cart/add/{product_id}/", {"quantity": 2})
    assert (added.status_code, added.headers.get("Location")) == (302, "/cart/")

    probes = [browser.probe() for _ in range(4 * len(stack.servers))]
    assert {probe["server"] for probe in probes} == {server.name for server in stack.servers}
    assert {probe["profile"] for probe in probes} == {stack.profile}
    for probe in probes:
        assert (probe["authenticated"], probe["username"], probe["cart_items"]) == (True, username, 2), probe

    address = {
        "full_name": "Ada Shopper",
        "address": "1 Loop Road",
        "city": "Localhost",
        "postal_code": "12345",
    }
    checkout = browser.submit("/checkout/", "/checkout/", address)
    assert checkout.status_code == 302, checkout.text
    order_page = checkout.headers.get("Location")
    assert re.fullmatch(r"/orders/\d+/", order_page)
    assert browser.get(order_page).status_code == 200
    assert {browser.probe()["cart_items"] for _ in stack.servers} == {0}


@pytest.mark.parametrize("stack", SHARED, indirect=True)
def test_a_signed_in_shopper_checks_out_whichever_server_answers(stack):
    shop_across_servers(stack)


@pytest.mark.parametrize("stack", [pytest.param({"db": "postgres"}, id="postgres")], indirect=True)
def test_the_same_visit_on_a_throwaway_postgresql(stack):
    assert stack.env["DATABASE_URL"].startswith("postgres://shop:")
    shop_across_servers(stack)
