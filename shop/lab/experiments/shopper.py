"""A scripted shopper: signs up, fills a cart, asks /lab/probe what the server knows, checks out.

It talks to nginx with the stack's cookie-keeping client, so every request may land on any
server, like a real browser's. It never raises for an HTTP answer: a lost session is a
finding. Only an answer that makes the experiment itself impossible is a ``LabError``.
"""

import collections
import html
import http.client
import json
import re
import secrets
from dataclasses import asdict, dataclass

from shop.stack.client import Browser, NoFormError

from .outcome import LabError

ADDRESS = {"full_name": "Lab Shopper", "address": "1 Loop Road", "city": "Localhost", "postal_code": "12345"}
FORM_ERROR = re.compile(r'class="error" role="alert">([^<]*)<')
# A request that got no HTTP answer at all (connection refused or reset, timeout).
TRANSPORT_ERRORS = (OSError, http.client.HTTPException)


def served_by(response):
    """The server name of an X-Served-By header (``server2:1234``), or None (nginx answered)."""
    value = response.header("X-Served-By") if response else None
    return value.split(":")[0] if value else None


@dataclass
class Probe:
    """One answer of ``GET /lab/probe`` (status 0: no answer at all)."""

    status: int
    server: str | None = None
    pid: int | None = None
    authenticated: bool = False
    username: str | None = None
    cart_items: int | None = None
    error: str | None = None


@dataclass
class Tally:
    total: int = 0
    kept: int = 0  # the same login and the same cart as the shopper expects
    logged_in: int = 0
    cart: int = 0
    failed: int = 0  # no answer, or a server error (5xx)
    servers: dict = None

    def as_json(self):
        return asdict(self)


class Shopper:
    def __init__(self, url, label):
        self.browser = Browser(url)
        self.username = f"lab-{label}-{secrets.token_hex(3)}"
        # Random, so that no username can come close enough to fail Django's similarity check
        # (a fixed password did, now and then, for some random suffix).
        self.password = secrets.token_urlsafe(18)
        self.signed_up = False
        self.cart_items = 0  # what the shopper believes is in the cart
        self.steps = []  # (step, status, server) of every page and form, for the record

    # Pages and forms ---------------------------------------------------------------------
    def _record(self, step, response):
        step = {"step": step, "status": response.status, "server": served_by(response)}
        if response.header("Location"):
            step["location"] = response.header("Location")
        errors = [html.unescape(text) for text in FORM_ERROR.findall(response.text)]
        if errors:  # a form sent back with errors
            step["errors"] = errors
        self.steps.append(step)
        return response

    def _submit(self, step, page, action, fields):
        """The form's answer, or None when the page had no form (a login redirect, say)."""
        try:
            return self._record(step, self.browser.submit(page, action, fields))
        except NoFormError as error:
            self._record(f"{step} (form page)", error.response)
            return None
        except TRANSPORT_ERRORS as error:
            self.steps.append({"step": step, "status": 0, "server": None, "error": repr(error)})
            return None

    def sign_up(self):
        """Sign up, which logs the shopper in; without that no scenario can go on."""
        fields = {"username": self.username, "password1": self.password, "password2": self.password}
        response = self._submit("sign up", "/accounts/signup/", "/accounts/signup/", fields)
        self.signed_up = bool(response and response.status == 302)
        if not self.signed_up:
            raise LabError(f"sign-up failed: {self.steps[-1]}")

    def add(self, product, quantity=1, required=True):
        """Add ``quantity`` of ``product`` ((page, id)); True when the shop said it did."""
        page, product_id = product
        response = self._submit("add to cart", page, f"/cart/add/{product_id}/", {"quantity": quantity})
        added = bool(response and response.status == 302 and response.header("Location") == "/cart/")
        if added:
            self.cart_items += quantity
        elif required:
            raise LabError(f"add to cart failed: {self.steps[-1]}")
        return added

    def checkout(self):
        """What became of a checkout: "order placed", "sent to log in", "cart empty" or the status."""
        response = self._submit("checkout", "/checkout/", "/checkout/", ADDRESS)
        last = self.steps[-1]
        location = last.get("location", "")
        if response and response.status == 302 and re.fullmatch(r"/orders/\d+/", location):
            self.cart_items = 0
            return "order placed"
        if location.startswith("/accounts/login/"):
            return "sent to log in"
        if location == "/cart/":
            return "cart empty"
        return f"HTTP {last['status']}"

    # Probes ------------------------------------------------------------------------------
    def probe(self):
        try:
            response = self.browser.get("/lab/probe")
        except TRANSPORT_ERRORS as error:
            return Probe(status=0, error=repr(error))
        if response.status != 200:
            return Probe(status=response.status, server=served_by(response), error=response.text[:200])
        data = json.loads(response.text)
        return Probe(
            200, data["server"], data["pid"], data["authenticated"], data["username"], data["cart_items"]
        )

    def probes(self, count):
        return [self.probe() for _ in range(count)]

    def kept(self, probe):
        """The probe saw this shopper: logged in (if they signed up) and with their cart."""
        return probe.status == 200 and self.logged_in(probe) and probe.cart_items == self.cart_items

    def logged_in(self, probe):
        if not self.signed_up:
            return probe.status == 200
        return probe.status == 200 and probe.authenticated and probe.username == self.username

    def tally(self, probes):
        return Tally(
            total=len(probes),
            kept=sum(self.kept(probe) for probe in probes),
            logged_in=sum(self.logged_in(probe) for probe in probes),
            cart=sum(probe.status == 200 and probe.cart_items == self.cart_items for probe in probes),
            failed=sum(not 0 < probe.status < 500 for probe in probes),
            servers=dict(sorted(collections.Counter(probe.server or "none" for probe in probes).items())),
        )


def probe_log(probes):
    """Probes as JSON-ready dicts, for the report's details."""
    return [asdict(probe) for probe in probes]


def products_for_sale(url, count=4, min_stock=40):
    """``count`` (product page, product id) pairs of products with at least ``min_stock`` in stock.

    Every profile's shopper checks out, and the lab's database lives for a whole run: plenty
    of stock keeps a later profile's add-to-cart from failing on a sold-out product.
    """
    browser = Browser(url)
    found = []
    for slug in dict.fromkeys(re.findall(r'href="/p/([^"/]+)/"', browser.get("/").text)):
        page = f"/p/{slug}/"
        text = browser.get(page).text
        form = re.search(r'action="/cart/add/(\d+)/"', text)
        stock = re.search(r"(\d+) in stock", text)
        if form and stock and int(stock.group(1)) >= min_stock:
            found.append((page, int(form.group(1))))
        if len(found) == count:
            return found
    raise LabError(f"the catalog's first page has fewer than {count} products with {min_stock} in stock")
