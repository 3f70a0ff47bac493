"""Where a request's time goes, in one process: each middleware, the session, the user, the view.

Run by ``manage.py bench --in-process`` in a child process per profile (its own settings, a
throwaway database, a private Redis where the profile needs one); prints one JSON object. A
signed-in shopper with a three-line cart asks each page through Django's test client (CSRF checks
on, as in production); every part of the request path is wrapped in a timer that keeps its *own*
time, without the parts it calls (the session read inside the auth middleware counts as the
session read, not as the middleware). The timers read the thread's CPU time, which other
processes on a shared machine disturb far less than the wall clock (reported beside it). Rounds
of each page are interleaved, so a burst of load from elsewhere falls on every page alike; a
figure is the median over the rounds of the mean per request. The timers cost about a
microsecond each, /healthz included.

    DJANGO_SETTINGS_MODULE=config.settings.db DATABASE_URL=sqlite:////tmp/b.sqlite3 \
        python -c "import django; django.setup(); from tools.bench.breakdown import main; main()"
"""

import json
import secrets
import statistics
import sys
import time
from collections import defaultdict
from importlib import import_module
from urllib.parse import urlencode

from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.db import connection
from django.template.backends import django as django_templates
from django.template.backends import jinja2 as jinja2_templates
from django.test import Client
from django.test.client import ClientHandler
from django.test.utils import CaptureQueriesContext
from django.utils.module_loading import import_string

PAGES = ("healthz", "probe", "list", "detail", "cart", "add")
ROUNDS = 9
PER_ROUND = 20
WARMUP = 20
HOOKS = ("process_view", "process_exception", "process_template_response")
# Functions of the request path looked up at call time, so replacing them times them: (section, module,
# name). Sections named here that a version of the shop lacks are skipped.
FUNCTIONS = [
    ("user", "django.contrib.auth", "get_user"),
    ("Device check", "shop.accounts.devices", "checked_user"),
    ("user + Device (one query)", "shop.accounts.signed_in", "lookup"),
]
REQUEST = "handler (request, URL, signals)"
TEMPLATE = "template (with context processors)"


class Timers:
    """Own time per section: a section's time minus the time of the sections it called."""

    def __init__(self):
        self.own = defaultdict(int)
        self.called = []  # per open section: nanoseconds spent in sections it called

    def wrap(self, name, function):
        own, called, clock = self.own, self.called, time.thread_time_ns

        def timed(*args, **kwargs):
            started = clock()
            called.append(0)
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = clock() - started
                own[name] += elapsed - called.pop()
                if called:
                    called[-1] += elapsed

        return timed

    def wrap_method(self, name, cls, method):
        setattr(cls, method, self.wrap(name, getattr(cls, method)))

    def middleware(self, path):
        """A middleware factory that builds the one at ``path`` and times it (and its hooks)."""
        factory = import_string(path)
        name = path.rsplit(".", 1)[-1]

        def timed_factory(get_response):
            instance = factory(get_response)  # MiddlewareNotUsed passes through: Django skips it
            timed = self.wrap(name, instance)
            for hook in HOOKS:
                if hasattr(instance, hook):
                    setattr(timed, hook, self.wrap(name, getattr(instance, hook)))
            return timed

        timed_factory.sync_capable = getattr(factory, "sync_capable", True)
        timed_factory.async_capable = False
        return timed_factory


def instrument(timers):
    """Wrap every part of the request path; returns the sections in the order a request meets them."""
    module = sys.modules[__name__]
    middleware = [path.rsplit(".", 1)[-1] for path in settings.MIDDLEWARE]
    for k, path in enumerate(settings.MIDDLEWARE):
        setattr(module, f"timed_{k}", timers.middleware(path))
    settings.MIDDLEWARE = [f"{__name__}.timed_{k}" for k in range(len(middleware))]
    store = import_module(settings.SESSION_ENGINE).SessionStore
    timers.wrap_method("session load", store, "load")
    timers.wrap_method("session save", store, "save")
    functions = []
    for section, module_path, name in FUNCTIONS:
        try:
            owner = import_module(module_path)
        except ImportError:
            continue
        if hasattr(owner, name):
            timers.wrap_method(section, owner, name)
            functions.append(section)
    make_view_atomic = BaseHandler.make_view_atomic
    BaseHandler.make_view_atomic = lambda handler, view: timers.wrap("view", make_view_atomic(handler, view))
    for backend in (django_templates, jinja2_templates):  # a baseline checkout may render with either
        timers.wrap_method(TEMPLATE, backend.Template, "render")
    timers.wrap_method(REQUEST, ClientHandler, "__call__")
    timers.wrap_method(REQUEST, BaseHandler, "_get_response")  # the innermost middleware's get_response
    timers.wrap_method("URL resolving", BaseHandler, "resolve_request")
    return [
        REQUEST,
        "URL resolving",
        *middleware,
        "session load",
        "session save",
        *functions,
        "view",
        TEMPLATE,
    ]


def shopper():
    """A signed-in test client with a three-line cart, and the requests of each page."""
    from django.contrib.auth import get_user_model

    from shop.catalog.models import Product

    products = list(Product.objects.active().filter(stock__gte=5).order_by("id")[:4])
    user = get_user_model().objects.create_user(f"breakdown-{secrets.token_hex(4)}")
    client = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    client.force_login(user)
    client.get(f"/p/{products[0].slug}/")  # sets the CSRF cookie
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    # A browser's form: urlencoded (the test client's default, multipart, takes longer to parse).
    add = urlencode({"quantity": 1, "override": 1, "csrfmiddlewaretoken": token})
    form = "application/x-www-form-urlencoded"
    for product in products[:3]:
        client.post(f"/cart/add/{product.pk}/", add, content_type=form)
    pages = {
        "healthz": lambda: client.get("/healthz"),
        "probe": lambda: client.get("/lab/probe"),
        "list": lambda: client.get("/"),
        "detail": lambda: client.get(f"/p/{products[0].slug}/"),
        "cart": lambda: client.get("/cart/"),
        "add": lambda: client.post(f"/cart/add/{products[3].pk}/", add, content_type=form),
    }
    return client, pages


def ask(client, page):
    """One request as a returning browser sends it: flash messages from an earlier answer are dropped,
    so that every request carries the same cookies (the stack benchmark replays fixed ones too)."""
    response = page()
    client.cookies.pop("messages", None)
    return response


def main():
    timers = Timers()
    sections = instrument(timers)
    client, pages = shopper()
    expected = {"add": 302}
    for name, page in pages.items():
        for _ in range(WARMUP):
            status = ask(client, page).status_code
        if status != expected.get(name, 200):
            raise SystemExit(f"{name} answered {status}")
    rounds = defaultdict(list)  # page -> [{section: CPU µs per request}, ...]
    walls = defaultdict(list)  # page -> [wall-clock µs per request, ...]
    for _ in range(ROUNDS):
        for name, page in pages.items():
            timers.own.clear()
            started = time.perf_counter_ns()
            for _ in range(PER_ROUND):
                ask(client, page)
            wall = (time.perf_counter_ns() - started) / PER_ROUND / 1000
            rounds[name].append({section: ns / PER_ROUND / 1000 for section, ns in timers.own.items()})
            walls[name].append(wall)
    result = {"profile": settings.SHOP_PROFILE, "sections": sections, "pages": {}}
    for name, page in pages.items():
        with CaptureQueriesContext(connection) as queries:
            ask(client, page)
        per_round = rounds[name]
        totals = [sum(values.values()) for values in per_round]
        result["pages"][name] = {
            "total_us": round(statistics.median(totals), 1),
            "spread_us": [round(min(totals), 1), round(max(totals), 1)],
            "wall_us": round(statistics.median(walls[name]), 1),
            "queries": len(queries),
            "sections_us": {
                section: round(statistics.median(values.get(section, 0) for values in per_round), 1)
                for section in sections
            },
        }
    print(json.dumps(result))
