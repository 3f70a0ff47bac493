"""Live operations on a real stack, as issue 11's "done means" asks: its session profile switched
round db -> cache -> signed_cookies -> cached_db -> db, then on to encrypted_cookies (issue 21), and
its SECRET_KEY rotated there, while one shopper probes all along; the lab's scenarios 12 and 13 run
in test_scenarios.py."""

import pytest

from conftest import require_binary
from tools.experiments.context import Context
from tools.experiments.live_ops import Shopping, every_server

pytestmark = pytest.mark.stack

STACK = {"profile": "db", "servers": 2, "workers": 1, "private": True}  # switched and rotated


@pytest.fixture
def ctx(stack):
    require_binary("redis-server")  # the switches start one when a Redis profile comes
    return Context(stack, probes=8, trials=3, quick=True, progress=lambda text: None)


def test_a_shopper_keeps_login_and_cart_through_every_switch_and_a_rotation(stack, ctx):
    products = ctx.products(3)
    still = ctx.shopper("still").sign_up()
    for product in products:
        still.add(product, 1)
    cart = {product_id: 1 for _, product_id in products}
    prober = ctx.shopper("prober").sign_up()
    with Shopping([prober], products, writes=False) as probing:
        for target in ("cache", "signed_cookies", "cached_db", "db", "encrypted_cookies"):
            stack.switch_profile(target)
            assert {profile for profile, _ in every_server(stack).values()} == {target}
            assert all(map(still.kept, still.probes(len(stack.servers)))), f"after the switch to {target}"
            assert still.cart_lines() == cart, f"after the switch to {target}"
        before = every_server(stack)
        stack.rotate_secret_key()
        after = every_server(stack)
        assert all(map(still.kept, still.probes(len(stack.servers)))), "after the rotation"
    new_ids = {key_id for _, key_id in after.values()}
    assert len(new_ids) == 1 and not new_ids & {key_id for _, key_id in before.values()}
    assert still.cart_lines() == cart
    totals = probing.totals()
    assert totals["probes"] > 30, totals  # the other shopper really probed all along
    assert (totals["errors"], totals["anonymous"], totals["stale"], totals["logouts"]) == (0, 0, 0, 0), totals
