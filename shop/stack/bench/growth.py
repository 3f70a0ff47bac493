"""How session cost grows: signed-cookie bytes per cart line, and a db session table of 1M rows."""

import json
import os
import subprocess
import sys
import tempfile

from django.conf import settings

from ..children import Console, StackError
from ..services import PostgresCluster
from ..stack import Stack
from .shopper import Shopper

CART_CAP = 50  # shop.cart.cart.MAX_LINES, asserted by the shop's own tests
REPORTED_LINES = (0, 1, 2, 5, 10, 20, 30, 40, 50)


def cookie_bytes_per_line(stack: Stack, products):
    """A logged-in shopper adds distinct products up to the cart's cap; the session cookie is
    measured after each line (the value, and the whole Set-Cookie header a browser stores)."""
    if len(products) < CART_CAP + 1:
        raise StackError(
            f"the cookie measurement needs {CART_CAP + 1} products for sale, found {len(products)}"
        )
    shopper = Shopper(stack.port).sign_up(f"/p/{products[0][1]}/", prefix="cookie")
    rows = [_cookie_row(shopper, 0)]
    for lines, (product_id, _) in enumerate(products[:CART_CAP], start=1):
        shopper.add_to_cart(product_id)
        if lines in REPORTED_LINES:
            rows.append(_cookie_row(shopper, lines))
    over_cap = shopper.request(
        "POST", f"/cart/add/{products[CART_CAP][0]}/", {"quantity": 1, "csrfmiddlewaretoken": shopper.token}
    )
    return {"rows": rows, "line_51_status": over_cap[0], "cart_items_after": shopper.probe()["cart_items"]}


def _cookie_row(shopper, lines):
    header = shopper.set_cookies.get(settings.SESSION_COOKIE_NAME, "")
    return {"lines": lines, "value_bytes": len(shopper.session_cookie), "set_cookie_bytes": len(header)}


def session_rows(databases, expired, say):
    """Run session_rows.py in a child process per database; returns {db: result}."""
    results = {}
    for db in databases:
        with tempfile.TemporaryDirectory(prefix="shop-bench-rows-") as folder:
            if db == "postgres":
                with (
                    open(f"{folder}/postgres.log", "w") as log,
                    PostgresCluster(console=Console(log)) as cluster,
                ):
                    results[db] = _child(cluster.url(), expired, say)
            else:
                results[db] = _child(f"sqlite:///{folder}/rows.sqlite3", expired, say)
    return results


def _child(database_url, expired, say):
    say(f"  db sessions: {expired:,} expired rows in {database_url.split(':')[0]} ...")
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings.db"}
    result = subprocess.run(
        [sys.executable, "-m", "shop.stack.bench.session_rows", str(expired)],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise StackError(f"session_rows failed:\n{result.stdout}{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])
