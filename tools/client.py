"""The one HTTP client for everything that talks to a stack: tests, ``sessionlab`` and ``bench``."""

import collections
import functools
import html
import re
import secrets
import ssl
from dataclasses import dataclass, field

import httpx

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CHECKOUT_TOKEN = re.compile(r'name="checkout_token" value="([^"]+)"')
FORM_ERROR = re.compile(r'class="error" role="alert">([^<]*)<')
PRODUCT_LINK = re.compile(r'href="/p/([^"/]+)/"')
NEXT_PAGE = re.compile(r'href="\?page=(\d+)">Next')
ADD_FORM = re.compile(r'action="/cart/add/(\d+)/"')
# A line of the cart page: its product's update form and the quantity in it.
CART_LINE = re.compile(
    r'action="/cart/add/(\d+)/" method="post" class="qty-form">.*?name="quantity" value="(\d+)"', re.S
)
IN_STOCK = re.compile(r"(\d+) in stock")
SIGNED_IN_AS = re.compile(r'<span class="who">([^<]+)</span>')  # the page header's username
ORDER_LINK = re.compile(r'href="/orders/(\d+)/"')
ADDRESS = {"full_name": "Ada Shopper", "address": "1 Loop Road", "city": "Localhost", "postal_code": "12345"}
# A request that got no HTTP answer at all (connection refused or reset, timeout).
TRANSPORT_ERRORS = (httpx.TransportError,)


class ShopperError(RuntimeError):
    """The shop answered in a way that makes going on impossible (no form to post, say)."""

    def __init__(self, message, response=None):
        super().__init__(message)
        self.response = response


def served_by(response):
    """The server name of an X-Served-By header (``server2:1234``), or None (nginx answered)."""
    value = response.headers.get("X-Served-By") if response is not None else None
    return value.split(":")[0] if value else None


@functools.cache
def default_trust():
    """httpx's default SSL context (certifi's certificates), made once for every Browser: making one
    costs about 50 ms of CPU, and the tests make thousands of browsers (of plain-HTTP stacks, which
    never use it). A context is safe to share between clients and threads."""
    return httpx.create_ssl_context()


class Browser(httpx.Client):
    """An httpx client with a browser's cookies that never follows redirects, so callers see every
    302 (a login redirect is the lab's evidence of a lost session). Thread-safe: threads may share
    one browser, which is one session sending requests at once."""

    def __init__(self, base_url, certificate=None, source_address=None, timeout=15):
        """``certificate``: the stack's own (``runstack --tls``) to trust; ``source_address``: a
        loopback address to connect from, so nginx sees another client (127.0.0.0/8 is local)."""
        verify = ssl.create_default_context(cafile=str(certificate)) if certificate else default_trust()
        # A connection per request. nginx closes its idle keep-alive connections when it reloads
        # (each restart() drains a server that way); a request sent on one at that moment is reset.
        # A real browser resends it on a new connection; httpx would report an error that says
        # nothing about the shop.
        transport = httpx.HTTPTransport(
            verify=verify, local_address=source_address, limits=httpx.Limits(max_keepalive_connections=0)
        )
        self.origin = origin = str(base_url).rstrip("/")

        def add_origin(request):
            # Browsers send Origin with a POST, and Django's CSRF check compares it with the host.
            if request.method == "POST":
                request.headers.setdefault("Origin", origin)

        super().__init__(
            base_url=origin, transport=transport, timeout=timeout, event_hooks={"request": [add_origin]}
        )

    def form_token(self, form_page):
        """The CSRF token of the form on ``form_page``; ShopperError when the page has no form."""
        page = self.get(form_page)
        token = CSRF_FIELD.search(page.text)
        if not token:
            raise ShopperError(f"no form on {form_page} (HTTP {page.status_code})", page)
        return token[1]

    def submit(self, form_page, action, fields):
        """POST ``fields`` to ``action`` with the CSRF token of the form on ``form_page``."""
        return self.post(action, data={**fields, "csrfmiddlewaretoken": self.form_token(form_page)})

    def cookie_header(self):
        """The Cookie header this browser sends, for a tool that replays its session (wrk)."""
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in self.cookies.jar)

    def probe(self):
        """``/lab/probe``'s JSON: what the answering server knows of this session."""
        response = self.get("/lab/probe")
        if response.status_code != 200:
            raise ShopperError(f"/lab/probe answered {response.status_code}", response)
        return response.json()

    def cookie(self, name):
        return self.cookies.get(name)

    def set_cookie(self, name, value):
        """A cookie for the stack's host, as a copied or forged one would be."""
        self.cookies.set(name, value, domain=self.base_url.host)


def products_for_sale(browser, count=1, min_stock=10):
    """``count`` (product page, product id) pairs from the catalog with ``min_stock`` in stock.

    Tests and the lab share a catalog and buy from it, so the first products may have sold out.
    The catalog's pages are read in turn until enough are found.
    """
    found, listing = [], "/"
    while listing:
        text = browser.get(listing).text
        for slug in dict.fromkeys(PRODUCT_LINK.findall(text)):
            page = f"/p/{slug}/"
            product = browser.get(page).text
            form, stock = ADD_FORM.search(product), IN_STOCK.search(product)
            if form and stock and int(stock[1]) >= min_stock:
                found.append((page, int(form[1])))
                if len(found) == count:
                    return found
        next_page = NEXT_PAGE.search(text)
        listing = f"/?page={next_page[1]}" if next_page else None
    raise ShopperError(f"the catalog has fewer than {count} products with {min_stock} in stock")


@dataclass
class Probe:
    """One answer of ``GET /lab/probe`` (status 0: no answer at all)."""

    status: int
    server: str | None = None
    host: str | None = None
    pid: int | None = None
    authenticated: bool = False
    username: str | None = None
    cart_items: int | None = None
    profile: str | None = None
    key_id: str | None = None
    error: str | None = None


@dataclass
class Tally:
    total: int = 0
    kept: int = 0  # the same login and the same cart as the shopper expects
    logged_in: int = 0
    cart: int = 0
    failed: int = 0  # no answer, or a server error (5xx)
    servers: dict = field(default_factory=dict)


class Shopper:
    """A scripted shopper with its own Browser: signs up, fills a cart, asks ``/lab/probe`` what
    the server knows, checks out. ``steps`` records every page and form; a probe never raises,
    since a lost session is a finding, not an error."""

    def __init__(self, url, label="shopper", **browser_options):
        self.browser = Browser(url, **browser_options)
        self.username = f"{label}-{secrets.token_hex(3)}"
        # Random, so that no username comes close enough to fail Django's similarity check.
        self.password = secrets.token_urlsafe(18)
        self.signed_up = False
        self.lines = {}  # what the shopper believes is in the cart: {product id: quantity}
        self.steps = []

    @property
    def cart_items(self):
        return sum(self.lines.values())

    def _record(self, step, response):
        entry = {"step": step, "status": response.status_code, "server": served_by(response)}
        if response.headers.get("Location"):
            entry["location"] = response.headers["Location"]
        errors = [html.unescape(text) for text in FORM_ERROR.findall(response.text)]
        if errors:  # a form sent back with errors
            entry["errors"] = errors
        self.steps.append(entry)
        return response

    def submit(self, step, page, action, fields):
        """The form's answer, or None when there was none (no form on the page, no connection)."""
        try:
            return self._record(step, self.browser.submit(page, action, fields))
        except ShopperError as error:
            self._record(f"{step} (form page)", error.response)
        except TRANSPORT_ERRORS as error:
            self.steps.append({"step": step, "status": 0, "server": None, "error": repr(error)})
        return None

    def sign_up(self):
        """Sign up, which logs the shopper in; raises ShopperError when it did not."""
        fields = {"username": self.username, "password1": self.password, "password2": self.password}
        response = self.submit("sign up", "/accounts/signup/", "/accounts/signup/", fields)
        self.signed_up = bool(response and response.status_code == 302)
        if not self.signed_up:
            raise ShopperError(f"sign-up failed: {self.steps[-1]}", response)
        return self

    def log_in(self):
        """Log in on a new session (the browser's cookies are dropped first), so with an empty cart;
        raises ShopperError when it did not."""
        self.browser.cookies.clear()
        fields = {"username": self.username, "password": self.password}
        response = self.submit("log in", "/accounts/login/", "/accounts/login/", fields)
        if not (response and response.status_code == 302):
            raise ShopperError(f"login failed: {self.steps[-1]}", response)
        self.lines = {}
        return self

    def _change_cart(self, step, page, action, fields, required):
        """Post a cart form; True when the shop did (it sends back to /cart/)."""
        response = self.submit(step, page, action, fields)
        done = bool(response and response.status_code == 302 and response.headers["Location"] == "/cart/")
        if not done and required:
            raise ShopperError(f"{step} failed: {self.steps[-1]}", response)
        return done

    def add(self, product, quantity=1, required=True):
        """Add ``quantity`` of ``product`` ((page, id)); True when the shop said it did."""
        page, product_id = product
        fields = {"quantity": quantity}
        added = self._change_cart("add to cart", page, f"/cart/add/{product_id}/", fields, required)
        if added:
            self.lines[product_id] = self.lines.get(product_id, 0) + quantity
        return added

    def remove(self, product, required=True):
        """Remove the line of ``product`` ((page, id)) with the cart page's form; True when done."""
        product_id = product[1]
        removed = self._change_cart("remove from cart", "/cart/", f"/cart/remove/{product_id}/", {}, required)
        if removed:
            self.lines.pop(product_id, None)
        return removed

    def cart_lines(self):
        """The lines the cart page shows: {product id: quantity}."""
        page = self.browser.get("/cart/")
        return {int(product_id): int(quantity) for product_id, quantity in CART_LINE.findall(page.text)}

    def checkout(self):
        """What became of a checkout: "order placed", "sent to log in", "cart empty" or the status."""
        page = self.browser.get("/checkout/")
        token = CHECKOUT_TOKEN.search(page.text)
        fields = {**ADDRESS, "checkout_token": token[1]} if token else ADDRESS
        self.submit("checkout", "/checkout/", "/checkout/", fields)
        last = self.steps[-1]
        location = last.get("location", "")
        if re.fullmatch(r"/orders/\d+/", location):
            self.lines = {}
            return "order placed"
        if location.startswith("/accounts/login/"):
            return "sent to log in"
        return "cart empty" if location == "/cart/" else f"HTTP {last['status']}"

    def probe(self):
        try:
            response = self.browser.get("/lab/probe")
        except TRANSPORT_ERRORS as error:
            return Probe(status=0, error=repr(error))
        if response.status_code != 200:
            return Probe(response.status_code, served_by(response), error=response.text[:200])
        data = response.json()
        fields = ("server", "host", "pid", "authenticated", "username", "cart_items", "profile", "key_id")
        return Probe(200, **{name: data.get(name) for name in fields})

    def probes(self, count):
        return [self.probe() for _ in range(count)]

    def logged_in(self, probe):
        if not self.signed_up:
            return probe.status == 200
        return probe.status == 200 and probe.authenticated and probe.username == self.username

    def kept(self, probe):
        """The probe saw this shopper: logged in (if they signed up) and with their cart."""
        return self.logged_in(probe) and probe.cart_items == self.cart_items

    def tally(self, probes):
        return Tally(
            total=len(probes),
            kept=sum(map(self.kept, probes)),
            logged_in=sum(map(self.logged_in, probes)),
            cart=sum(probe.status == 200 and probe.cart_items == self.cart_items for probe in probes),
            failed=sum(not 0 < probe.status < 500 for probe in probes),
            servers=dict(sorted(collections.Counter(probe.server or "none" for probe in probes).items())),
        )
