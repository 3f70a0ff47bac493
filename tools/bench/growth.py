"""How session cost grows: signed-cookie bytes per cart line, and a db session table of 1M rows."""

import json
import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack

from django.conf import settings

from shop.cart.cart import MAX_LINES

from ..client import Shopper
from ..stack.children import Console, StackError
from ..stack.services import PostgresCluster

REPORTED_LINES = (0, 1, 2, 5, 10, 20, 30, 40, 50)


def cookie_bytes_per_line(stack, for_sale):
    """A logged-in shopper adds distinct products up to the cart's cap; the session cookie is
    measured after each line (the value, and the whole Set-Cookie header a browser stores)."""
    if len(for_sale) < MAX_LINES + 1:
        raise StackError(
            f"the cookie measurement needs {MAX_LINES + 1} products for sale, found {len(for_sale)}"
        )
    shopper = Shopper(stack.url, "cookie")
    session_headers = [""]  # every Set-Cookie of the session: the client's jar keeps only the value
    prefix = f"{settings.SESSION_COOKIE_NAME}="

    def keep_session_header(response):
        session_headers.extend(h for h in response.headers.get_list("Set-Cookie") if h.startswith(prefix))

    def row(lines):
        value = shopper.browser.cookie(settings.SESSION_COOKIE_NAME) or ""
        return {"lines": lines, "value_bytes": len(value), "set_cookie_bytes": len(session_headers[-1])}

    shopper.browser.event_hooks["response"].append(keep_session_header)
    with shopper.browser:
        shopper.sign_up()
        rows = [row(0)]
        for lines, product in enumerate(for_sale[:MAX_LINES], start=1):
            shopper.add(product)
            if lines in REPORTED_LINES:
                rows.append(row(lines))
        shopper.add(for_sale[MAX_LINES], required=False)  # over the cap
        return {
            "rows": rows,
            "line_51_status": shopper.steps[-1]["status"],
            "cart_items_after": shopper.probe().cart_items,
        }


def session_rows(databases, expired, say):
    """Run session_rows.py in a child process per database; returns {db: result}."""
    results = {}
    for db in databases:
        with tempfile.TemporaryDirectory(prefix="shop-bench-rows-") as folder, ExitStack() as on_exit:
            if db == "postgres":
                log = on_exit.enter_context(open(f"{folder}/postgres.log", "w"))
                database_url = on_exit.enter_context(PostgresCluster(console=Console(log))).url()
            else:
                database_url = f"sqlite:///{folder}/rows.sqlite3"
            say(f"  db sessions: {expired:,} expired rows in {database_url.split(':')[0]} ...")
            env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings.db"}
            argv = [sys.executable, "-m", "tools.bench.session_rows", str(expired)]
            result = subprocess.run(argv, env=env, cwd=settings.BASE_DIR, capture_output=True, text=True)
            if result.returncode:
                raise StackError(f"session_rows failed:\n{result.stdout}{result.stderr}")
            results[db] = json.loads(result.stdout.strip().splitlines()[-1])
    return results
