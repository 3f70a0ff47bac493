"""Helpers for the tests, of every app, that prove reliability and security through the real stack.

Shoppers are logged in by writing their session (and its device record) with the servers' own
settings (a ``manage.py shell`` run), not by posting passwords: PBKDF2 costs about half a second
a login on purpose, and fifty logins would cost the two-core machine half a minute. Also here:
SQL against the stack's database, the outcome of requests in nginx's access log, clients from
another loopback address, and the checkout round trip.
"""

import contextlib
import datetime
import re
import sqlite3
import threading
import time

import psycopg

from tools.client import ADDRESS, CHECKOUT_TOKEN, CSRF_FIELD, Browser
from tools.stack.children import StackError, wait_until

ACCESS_LINE = re.compile(r'" (\d{3}) \d+ upstream=.*? upstream_status=(.*?) time=.* rid=(\w+)$')

# Runs in the servers' settings: users (unusable passwords) and their logged-in sessions.
_SESSIONS = """
import json
import time
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from shop.accounts.devices import start_device
from shop.accounts.lifetime import remember_sign_in
User = get_user_model()
store_class = import_module(settings.SESSION_ENGINE).SessionStore
values = []
signed_in_at = int(time.time()) - {ago}
for name in {names!r}:
    user = User.objects.filter(username=name).first() or User.objects.create_user(name)
    store = store_class()
    store.update({{
        SESSION_KEY: str(user.pk),
        BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
        HASH_SESSION_KEY: user.get_session_auth_hash(),
        "cart": {cart!r},
    }})
    start_device(store, user)  # what login() does: the session's record on /accounts/sessions/
    remember_sign_in(store, signed_in_at)  # ... and the time it signed in (SHOP_SESSION_MAX_AGE)
    store.save()
    values.append(store.session_key)  # signed_cookies: the signed cookie itself
print(json.dumps([settings.SESSION_COOKIE_NAME, values, signed_in_at]))
"""


def new_product(stack, slug, stock):
    """A product of its own for one test, at /p/<slug>/, in the first category; returns its id."""
    now = datetime.datetime.now(datetime.UTC).isoformat(sep=" ")
    insert = (
        "INSERT INTO catalog_product (category_id, name, slug, description, price, stock, is_active,"
        " created, updated) SELECT MIN(id), %s, %s, '', 9.5, %s, TRUE, %s, %s FROM catalog_category"
        " RETURNING id"
    )
    return sql(stack, insert, slug.replace("-", " ").title(), slug, stock, now, now)[0][0]


def logged_in(stack, usernames, cart=None, source=None):
    """One Browser per username, logged in (users created as needed), ``cart`` = {product_id: qty}.

    Not for ``locmem``: its sessions live in the memory of one worker process.
    """
    return signed_in_ago(stack, usernames, 0, cart, source)[0]


def signed_in_ago(stack, usernames, seconds, cart=None, source=None):
    """``logged_in``'s Browsers, whose sessions signed in ``seconds`` ago, and that time (epoch
    seconds, whole: the servers' SHOP_SESSION_MAX_AGE counts from it)."""
    cart = {str(pk): quantity for pk, quantity in (cart or {}).items()}
    code = _SESSIONS.format(names=list(usernames), cart=cart, ago=int(seconds))
    cookie_name, values, signed_in_at = stack.python(code)
    browsers = []
    for value in values:
        browser = Browser(stack.url, source_address=source)
        browser.set_cookie(cookie_name, value)
        browsers.append(browser)
    return browsers, signed_in_at


def checkout(browser, fields=ADDRESS):
    """Open the checkout page and post its form: (the page's checkout token, the POST's response).

    The token is None, and the response the page itself, when there was no form to post.
    """
    page = browser.get("/checkout/")
    token = CHECKOUT_TOKEN.search(page.text)
    if page.status_code != 200 or not token:
        return None, page
    data = {
        **fields,
        "checkout_token": token.group(1),
        "csrfmiddlewaretoken": CSRF_FIELD.search(page.text)[1],
    }
    return token.group(1), browser.post("/checkout/", data=data)


def sql(stack, query, *params):
    """Rows of ``query`` (``%s`` placeholders) in the stack's database, SQLite or PostgreSQL."""
    url = stack.env["DATABASE_URL"]
    if url.startswith("sqlite:"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"), timeout=20)) as db, db:
            return db.execute(query.replace("%s", "?"), params).fetchall()
    with psycopg.connect(url) as db:
        return db.execute(query, params).fetchall()


def stock(stack, product_id):
    return sql(stack, "SELECT stock FROM catalog_product WHERE id = %s", product_id)[0][0]


def nginx_outcomes(stack, request_ids, timeout=5):
    """{request id: (status nginx sent, every upstream status)} from nginx's access log."""
    wanted, found = set(request_ids), {}

    def read():
        for line in (stack.run_dir / "logs" / "access.log").read_text().splitlines():
            match = ACCESS_LINE.search(line)
            if match and match[3] in wanted:
                found[match[3]] = (int(match[1]), re.findall(r"\d{3}", match[2]))
        return len(found) == len(wanted)

    with contextlib.suppress(StackError):  # the caller sees which ones are missing
        wait_until(read, timeout, "waiting for nginx's access log", interval=0.2)
    return found


def forget_login_failures(stack, *keys):
    """Failed logins lock an address for 15 minutes in a database other tests share: clean up.

    A key is ``user:<username>`` or ``addr:<address>``; the failures are django-axes' rows.
    """
    deletes = {
        "user": "DELETE FROM axes_accessattempt WHERE username = %s",
        "addr": "DELETE FROM axes_accessattempt WHERE ip_address = %s",
    }
    for key in keys:
        kind, value = key.split(":", 1)
        sql(stack, deletes[kind], value)


def in_threads(targets, timeout=120):
    """Run each callable in its own thread and wait for all; re-raise the first error."""
    errors = []

    def run(target):
        try:
            target()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), f"threads still running after {timeout}s"
    if errors:
        raise errors[0]
