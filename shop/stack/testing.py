"""pytest support for tests through the real stack: fixtures and a small cookie-keeping client.

Use it as a plugin (``pytest_plugins = ["shop.stack.testing"]`` in the top-level conftest.py)
or import the fixtures into a conftest. Every stack runs in its own temporary run folder on
free ports; SQLite stacks share one migrated and seeded database file for the session.
"""

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

import pytest
from django.conf import settings

from .services import require_binary
from .stack import REDIS_PROFILES, Stack

SEED_PRODUCTS = 20


@dataclass
class Response:
    status: int
    headers: object
    text: str

    def header(self, name):
        return self.headers.get(name)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Keeps cookies like a browser, but never follows redirects: tests look at them."""

    def __init__(self, base_url):
        self.base_url = base_url.rstrip("/")
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect
        )

    def request(self, path, data=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        # Browsers send Origin with a POST, and Django's CSRF check compares it with the host
        # it sees: through nginx, that needs X-Forwarded-Host with the port.
        headers = {"Origin": self.base_url} if data is not None else {}
        request = urllib.request.Request(self.base_url + path, data=body, headers=headers)  # noqa: S310 (http://127.0.0.1)
        try:
            response = self.opener.open(request, timeout=15)
        except urllib.error.HTTPError as error:  # any status >= 300, since redirects are not followed
            response = error
        with response:
            return Response(response.status, response.headers, response.read().decode())

    def get(self, path):
        return self.request(path)

    def submit(self, form_page, action, fields):
        """POST ``fields`` to ``action`` with the CSRF token of the form on ``form_page``."""
        page = self.get(form_page)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, f"no CSRF token in {form_page} (HTTP {page.status})"
        return self.request(action, {**fields, "csrfmiddlewaretoken": token.group(1)})

    def probe(self):
        response = self.get("/lab/probe")
        assert response.status == 200, response.text
        return json.loads(response.text)

    def product_for_sale(self):
        """(product page, product id) of the first product listed on the home page."""
        slug = re.search(r'href="/p/([^"/]+)/"', self.get("/").text).group(1)
        page = f"/p/{slug}/"
        return page, int(re.search(r'action="/cart/add/(\d+)/"', self.get(page).text).group(1))


def manage(env, *args):
    subprocess.run([sys.executable, "manage.py", *args], env=env, cwd=settings.BASE_DIR, check=True,
                   capture_output=True)  # fmt: skip


@pytest.fixture(scope="session")
def stack_database(tmp_path_factory):
    """A migrated SQLite database with a seeded catalog, shared by the session's stacks."""
    url = f"sqlite:///{tmp_path_factory.mktemp('stack-db') / 'shop.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": url}
    manage(env, "migrate", "--noinput")
    manage(env, "seed_catalog", "--products", str(SEED_PRODUCTS))
    return url


@pytest.fixture(scope="session")
def start_stack(tmp_path_factory, stack_database):
    """Start a Stack (same arguments, plus ``port=0`` and a fresh run folder by default).

    Stacks are stopped at the end of the session at the latest; stop them sooner to keep a
    two-core machine responsive. The prefixed log is in ``<run_dir>/stack.log``.
    """
    started = []

    def start(profile="db", db="sqlite", **options):
        require_binary("nginx")
        if profile in REDIS_PROFILES:
            require_binary("redis-server")
        if db == "postgres":
            require_binary("initdb")
            require_binary("postgres")
        options.setdefault("port", 0)
        options.setdefault("run_dir", tmp_path_factory.mktemp(f"run-{profile}-{db}"))
        log = open(options["run_dir"] / "stack.log", "a")  # noqa: SIM115 (closed at teardown)
        env = {"DATABASE_URL": stack_database} if db == "sqlite" else {}
        stack = Stack(profile=profile, db=db, env=env, out=log, **options)
        started.append((stack, log))
        stack.start()
        if db == "postgres":
            stack.manage("seed_catalog", "--products", str(SEED_PRODUCTS))
        return stack

    yield start
    for stack, log in started:
        stack.stop()
        log.close()
