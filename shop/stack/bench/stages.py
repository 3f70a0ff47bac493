"""What one benchmark stage runs: a stack of one profile, its shoppers, and its cells.

A stage starts the real stack (nginx, 3 gunicorn servers, the profile's store), then prepares
shoppers through nginx: some signed up (logged in) and some anonymous, each with a cart of
three lines. Every cell is a list of requests that wrk cycles through: one per shopper (and
per product, where a page or a POST names one).
"""

import json
import urllib.parse
from dataclasses import dataclass, field

from ..stack import Stack
from .shopper import Shopper
from .wrk import Request

SHOPPERS = 4
CART_LINES = 3
# Every ratio is to "healthz" of the same stage.
CELLS = {
    "nginx": "GET /nginx/ping: nginx alone (ceiling)",
    "healthz": "GET /healthz: Django, no session (baseline)",
    "nosession": "GET /lab/probe, no cookie: the same view without a session",
    "session": "GET /lab/probe, anonymous cart: + the engine's read",
    "probe": "GET /lab/probe, logged in: session + user",
    "list": "GET /: catalog list, logged in",
    "detail": "GET /p/<slug>/: product page, logged in",
    "add": "POST /cart/add/<id>/: session write, logged in",
    "cart": "GET /cart/: 3 lines, logged in",
    "search": "GET /?q=oak: catalog search, logged in",
}
PROFILE_CELLS = ("nginx", "healthz", "nosession", "session", "probe", "list", "detail", "add", "cart")
PATHS = {"session": "/lab/probe", "probe": "/lab/probe", "list": "/", "cart": "/cart/", "search": "/?q=oak"}
PRODUCTS_SQL = (
    "import json; from shop.catalog.models import Product; print(json.dumps(list(Product.objects"
    ".active().filter(stock__gte=1).order_by('id').values_list('id', 'slug')[:60])))"
)


@dataclass
class StageSpec:
    profile: str
    db: str = "sqlite"
    products: int = 100
    cells: tuple = PROFILE_CELLS
    label: str = ""
    results: dict = field(default_factory=dict)

    @property
    def name(self):
        return self.label or (self.profile if self.db == "sqlite" else f"{self.profile}@{self.db}")

    def as_dict(self):
        return {
            "name": self.name,
            "profile": self.profile,
            "db": self.db,
            "products": self.products,
            **self.results,
        }


@dataclass
class Prepared:
    """A running stage: what run_cells needs to drive it."""

    spec: StageSpec
    stack: Stack
    products: list
    shoppers: list  # logged in
    visitors: list  # anonymous, with a cart


def start_stack(spec, options, folder, log):
    """The stack of one stage; SQLite stages share the bench database of their catalog size."""
    env = {}
    if spec.db == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{folder / f'shop-{spec.products}.sqlite3'}"
    stack = Stack(
        profile=spec.profile,
        servers=options["servers"],
        workers=options["workers"],
        port=0,
        db=spec.db,
        run_dir=folder / f"run-{spec.name}",
        env=env,
        out=log,
        setup_commands=[f"seed_catalog --products {spec.products} --if-empty"],
    )
    return stack.start()


def prepare(spec, stack):
    """Shoppers with carts: logged in for most cells, anonymous for the engine-only read."""
    output = stack.manage("shell", "--no-imports", "-c", PRODUCTS_SQL)
    products = json.loads(output.splitlines()[-1])
    shoppers, visitors = [], []
    for k in range(SHOPPERS):
        cart = cart_of(products, k)
        shopper = Shopper(stack.port).sign_up(f"/p/{cart[0][1]}/")
        visitor = Shopper(stack.port)
        visitor.request("GET", f"/p/{cart[0][1]}/")
        for product_id, _ in cart:
            shopper.add_to_cart(product_id)
            visitor.add_to_cart(product_id)
        shoppers.append(shopper)
        visitors.append(visitor)
    return Prepared(spec, stack, products, shoppers, visitors)


def cart_of(products, k):
    return products[k * CART_LINES : (k + 1) * CART_LINES]


def cell_requests(name, prepared):
    """The requests one cell cycles through: every shopper, and their products where it applies."""
    if name == "nginx":
        return [Request("GET", "/nginx/ping")]
    if name == "healthz":
        return [Request("GET", "/healthz")]
    if name == "nosession":
        return [Request("GET", PATHS["session"])]
    if name == "session":
        return [Request("GET", PATHS[name], visitor.cookie_header()) for visitor in prepared.visitors]
    requests = []
    for k, shopper in enumerate(prepared.shoppers):
        cookie = shopper.cookie_header()
        cart = cart_of(prepared.products, k)
        if name == "add":
            body = urllib.parse.urlencode(
                {"csrfmiddlewaretoken": shopper.token, "quantity": 1, "override": 1}
            )
            requests += [Request("POST", f"/cart/add/{product_id}/", cookie, body) for product_id, _ in cart]
        elif name == "detail":
            requests += [Request("GET", f"/p/{slug}/", cookie) for _, slug in cart]
        else:
            requests.append(Request("GET", PATHS[name], cookie))
    return requests


def session_check(prepared, expect_session=True):
    """After the load: do the first shopper's and visitor's sessions still hold their carts?"""
    probe = prepared.shoppers[0].probe()
    visitor = prepared.visitors[0].probe()
    ok = probe["authenticated"] and probe["cart_items"] == CART_LINES and visitor["cart_items"] == CART_LINES
    return {
        "authenticated": probe["authenticated"],
        "cart_items": probe["cart_items"],
        "visitor_cart_items": visitor["cart_items"],
        "ok": ok or not expect_session,
    }
