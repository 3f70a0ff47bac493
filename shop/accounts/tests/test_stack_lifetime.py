"""SHOP_SESSION_MAX_AGE through nginx and three servers: a busy session ends on time, keeping its cart.

Every profile whose sessions every server reads (``locmem`` loses the session across servers first),
each on the shared stack of its profile: conftest starts every test stack with SHOP_SESSION_MAX_AGE
= STACK_SESSION_MAX_AGE, so the session is written as signed in nearly that long ago and kept busy
on every server until it is signed out.
"""

import secrets
import time

import pytest
from django.conf import settings

from conftest import STACK_SESSION_MAX_AGE
from shop.core.profiles import REGISTRY
from shop.core.tests.stack_helpers import new_product, signed_in_ago
from tools.client import Browser
from tools.stack.children import wait_until

pytestmark = pytest.mark.stack

SHARED = [p.name for p in REGISTRY.values() if p.across_servers]
LEFT = 3  # seconds to live when written (2 to 3: the sign-in time is in whole seconds)
SIGNED_OUT = "You were signed out: a sign-in lasts 1\xa0hour at most, however busy you are."


@pytest.mark.parametrize("stack", SHARED, indirect=True)
def test_a_busy_session_is_signed_out_at_its_first_request_past_the_max_age_keeping_its_cart(stack):
    tag = secrets.token_hex(3)
    product = new_product(stack, f"lifetime-{tag}", stock=10)
    ago = STACK_SESSION_MAX_AGE - LEFT
    [shopper], signed_in_at = signed_in_ago(stack, [f"lifetime-{tag}"], ago, cart={product: 2})
    ends = signed_in_at + STACK_SESSION_MAX_AGE
    copied = shopper.cookie(settings.SESSION_COOKIE_NAME)
    answers = []  # (sent, answered, what /lab/probe said), a request every 0.1 s

    def signed_out():
        sent = time.time()
        probe = shopper.probe()
        answers.append((sent, time.time(), probe))
        return not probe["authenticated"]

    wait_until(signed_out, LEFT + 10, "waiting for SHOP_SESSION_MAX_AGE to sign the session out")
    *busy, (_, answered, _) = answers
    assert busy, "the session was not signed in when the test began: writing it took over a second"
    assert answered >= ends, f"signed out {ends - answered:.2f} s early"
    assert all(sent < ends for sent, _, _ in busy), "a request past the max age was still signed in"
    assert len({probe["server"] for _, _, probe in answers}) > 1, "kept busy on one server only"
    assert [probe["cart_items"] for _, _, probe in answers] == [2] * len(answers)
    assert SIGNED_OUT in shopper.get("/").text

    replayed = Browser(stack.url)
    replayed.set_cookie(settings.SESSION_COOKIE_NAME, copied)
    assert not replayed.probe()["authenticated"], "a copy of the cookie from before is still signed in"
