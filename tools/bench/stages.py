"""What one benchmark stage runs: a stack of one profile, its shoppers, and its cells.

A stage starts the real stack (nginx, 3 gunicorn servers, the profile's store), then prepares
shoppers through nginx with ``tools.client``: some signed up (logged in) and some
anonymous, each with a cart of three lines. Every cell is a list of requests that wrk cycles
through: one per shopper (and per product, where a page or a POST names one), replaying the
cookies of the shopper's browser.
"""

import urllib.parse
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from django.conf import settings

from shop.core.profiles import profile as profile_named

from ..client import Shopper
from ..stack.stack import Stack
from .wrk import Request

SHOPPERS = 4  # their carts and pages share the load
CART_LINES = 3
# Every ratio is to "healthz" of the same stage.
CELLS = {
    "nginx": "GET /nginx/ping: nginx alone (ceiling)",
    "healthz": "GET /healthz: Django, no session (baseline)",
    "nosession": "GET /lab/probe, no cookie: the same view without a session",
    "session": "GET /lab/probe, anonymous cart: + the engine's read",
    "probe": "GET /lab/probe, logged in: session + user",
    "anon": "GET /, no cookie: catalog list from nginx's micro-cache",
    "anondetail": "GET /p/<slug>/, no cookie: cached product page + its CSRF subrequest",
    "list": "GET /: catalog list, logged in",
    "detail": "GET /p/<slug>/: product page, logged in",
    "add": "POST /cart/add/<id>/: session write, logged in",
    "cart": "GET /cart/: 3 lines, logged in",
    "search": "GET /?q=oak: catalog search, logged in",
}
PROFILE_CELLS = tuple(cell for cell in CELLS if cell != "search")  # search: the catalog at scale only
COOKIELESS = {"nginx": "/nginx/ping", "healthz": "/healthz", "nosession": "/lab/probe", "anon": "/"}
PATHS = {"session": "/lab/probe", "probe": "/lab/probe", "list": "/", "cart": "/cart/", "search": "/?q=oak"}
# What PROFILE@SETTING changes in the stage's stack (``manage.py bench --help`` says what each shows).
VARIANTS = {
    "postgres": {"db": "postgres"},
    "sentinel": {"redis": "sentinel"},
    "sentinel-nowait": {"redis": "sentinel", "env": {"SESSION_REDIS_REPLICAS_ACK": "0"}},
    "nolock": {"env": {"SHOP_SESSION_LOCKS": "0"}},
    "nodevice": {"env": {"SHOP_DEVICE_CHECKS": "0"}},
    # Prometheus metrics off (shop/core/metrics.py): what counting every request and session costs.
    "nometrics": {"env": {"SHOP_METRICS": "0"}},
    # gunicorn's worker class against config/gunicorn.conf.py's sync workers (a new upstream
    # connection per request): threaded workers keep nginx's connections open (its upstream
    # keepalive), with one thread (one request per process, as sync) or two.
    "gthread": {"env": {"GUNICORN_CMD_ARGS": "-k gthread --threads 1"}},
    "threads2": {"env": {"GUNICORN_CMD_ARGS": "-k gthread --threads 2"}},
}
# (id, slug) of the products the shoppers' carts and product pages use, run by ``Stack.python``.
FOR_SALE = """
import json
from shop.catalog.models import Product
in_stock = Product.objects.active().filter(stock__gte=1).order_by("id")
print(json.dumps(list(in_stock.values_list("id", "slug")[:60])))
"""


@dataclass
class Stage:
    """One stack to measure: ``results`` gathers what was measured; ``running`` sets the rest."""

    profile: str
    db: str = "sqlite"
    products: int = 100  # in the catalog
    cells: tuple = PROFILE_CELLS
    label: str = ""
    redis: str = "single"
    env: dict = field(default_factory=dict)
    results: dict = field(default_factory=dict)
    stack: Stack | None = None
    for_sale: list = field(default_factory=list)  # (product page, product id), in stock
    shoppers: list = field(default_factory=list)  # logged in, each with a cart
    visitors: list = field(default_factory=list)  # anonymous, with the same carts

    @classmethod
    def parse(cls, text, db="sqlite"):
        """``db``, or a profile in one of the VARIANTS settings: ``db@postgres``, ``cache@sentinel``, ..."""
        profile, _, variant = text.partition("@")
        if variant and variant not in VARIANTS:
            raise ValueError(f"unknown setting {variant!r} in {text!r}; choose from {', '.join(VARIANTS)}")
        return cls(profile, **{"db": db, "label": text if variant else ""} | VARIANTS.get(variant, {}))

    @property
    def name(self):
        return self.label or (self.profile if self.db == "sqlite" else f"{self.profile}@{self.db}")

    def as_dict(self):
        return dict(name=self.name, profile=self.profile, db=self.db, products=self.products) | self.results

    def cart(self, k):
        return self.for_sale[k * CART_LINES : (k + 1) * CART_LINES]

    def requests(self, cell):
        """What one cell cycles through: every shopper, and their products where it applies."""
        if cell in COOKIELESS:
            return [Request("GET", COOKIELESS[cell])]
        requests = []
        for k, shopper in enumerate(self.visitors if cell == "session" else self.shoppers):
            cart = self.cart(k)
            cookie = "" if cell == "anondetail" else shopper.browser.cookie_header()
            if cell == "add":
                # override=1 sets the line instead of adding to it, so the cart keeps its size.
                token = shopper.browser.form_token(cart[0][0])
                body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "quantity": 1, "override": 1})
                requests += [Request("POST", f"/cart/add/{pk}/", cookie, body) for _, pk in cart]
            elif cell in ("detail", "anondetail"):
                requests += [Request("GET", page, cookie) for page, _ in cart]
            else:
                requests.append(Request("GET", PATHS[cell], cookie))
        return requests

    def shopper_count(self, connections):
        """How many shoppers to sign up: the writes need one per wrk connection (follow.lua);
        elsewhere a few share the load."""
        return connections if "add" in self.cells else SHOPPERS

    def cookie_to_follow(self, cell):
        """The session cookie's name where wrk sends, per connection, one shopper's requests with the
        cookie each answer set (follow.lua), as one browser tab does; else None.

        The writes: a connection is a shopper of its own, so the cell measures a session write, not
        three tabs of one shopper queueing for the session's lock (shop/core/session_lock.py). With
        four shoppers sharing twelve connections, as the other cells do, a write waited for the lock
        and each try cost a round trip: 6.2-8.3 ms of the servers' CPU per cache or db write against
        5.3-6.1 ms one shopper per connection (two rounds each). And a cookie session's write is refused
        when sent with a cookie that a later write replaced.
        """
        return settings.SESSION_COOKIE_NAME if cell == "add" else None

    def before_run(self, cell, path):
        """Before each run of ``cell`` (its requests in ``path``): a cookie session's writes start from
        sessions signed in anew, whose cookies the requests are written again with.

        wrk ends a run with a write in flight on each connection. One that lands signs a new cookie and
        marks the last one wrk saw replaced, so a run that started from it got 409s until the mark
        expired (SHOP_SESSION_LOCK_TTL + _WAIT, 25 s): 2,554 of 3,475 writes of encrypted_cookies in
        stop 27's full bench, whose cookie changes at every write.
        """
        if self.cookie_to_follow(cell) is None or not profile_named(self.profile).in_cookie:
            return
        for shopper in self.shoppers:
            shopper.log_in()
        path.write_text("".join(request.line() for request in self.requests(cell)))

    def session_check(self):
        """After the load: do the first shopper's and visitor's sessions still hold their carts?"""
        shopper, visitor = self.shoppers[0], self.visitors[0]
        seen, visitor_seen = shopper.probe(), visitor.probe()
        # locmem keeps a session in one worker of six: losing it is what that profile shows.
        kept = shopper.kept(seen) and visitor.kept(visitor_seen)
        return {
            "authenticated": seen.authenticated,
            "cart_items": seen.cart_items,
            "visitor_cart_items": visitor_seen.cart_items,
            "ok": kept or not profile_named(self.profile).across_servers,
        }


@contextmanager
def running(stages, options, folder):
    """The stages' stacks, each with its shoppers, all stopped on the way out.

    SQLite stages share the bench database of their catalog size.
    """
    with ExitStack() as on_exit:
        for stage in stages:
            log = on_exit.enter_context(open(folder / f"{stage.name}.log", "w"))
            sqlite = f"sqlite:///{folder / f'shop-{stage.products}.sqlite3'}"
            stack = Stack(
                profile=stage.profile,
                servers=options["servers"],
                workers=options["workers"],
                port=0,
                db=stage.db,
                redis=stage.redis,
                run_dir=folder / f"run-{stage.name}",
                env=({"DATABASE_URL": sqlite} if stage.db == "sqlite" else {}) | stage.env,
                out=log,
                setup_commands=[f"seed_catalog --products {stage.products} --if-empty"],
            )
            stage.stack = on_exit.enter_context(stack)
            products = stack.python(FOR_SALE)
            stage.for_sale = [(f"/p/{slug}/", product_id) for product_id, slug in products]
            for k in range(stage.shopper_count(options["connections"])):
                shopper, visitor = Shopper(stack.url, "bench"), Shopper(stack.url, "visitor")
                shopper.sign_up()
                for each in (shopper, visitor):
                    on_exit.callback(each.browser.close)
                    for product in stage.cart(k):
                        each.add(product)
                    # Where the add's redirect leads: its flash messages are shown, and their cookie goes.
                    each.browser.get("/cart/")
                stage.shoppers.append(shopper)
                stage.visitors.append(visitor)
        yield stages
