"""A soak shopper: one person shopping for the length of the soak, on the project's one client.

They do what people do, chosen at random (seeded) with ``ACTIONS``' weights: browse, add to the
cart from a product page, add two products from two tabs at once, change a line's quantity or
remove it on the cart page, check out (and send the same form again when no answer came back, as
a browser's retry would), look at their orders, sign out and in, and sign in on a phone to end
that session from the main browser. Every request goes through ``History.request``; what an
answer showed (who is signed in, the cart's lines, the order list) is added to its op for the
checker. A form is always posted with the token of the page it is on, fetched just before.
"""

import html
import re
import secrets
import threading
import time

from tools.client import (
    ADDRESS,
    CART_LINE,
    CHECKOUT_TOKEN,
    CSRF_FIELD,
    FORM_ERROR,
    IN_STOCK,
    ORDER_LINK,
    SIGNED_IN_AS,
    Browser,
)

from .history import DONE, UNKNOWN, outcome, unavailable

ACTIONS = {
    "browse": 3,
    "add": 5,
    "two_tabs": 2,
    "set_quantity": 1.5,
    "remove": 1.5,
    "checkout": 1.5,
    "view_orders": 1,
    "sign_out_and_in": 0.5,
    "end_other_device": 0.5,
}
PAUSE = (0.05, 0.3)  # seconds between two actions
RESUBMITS = 4  # times one checkout form is sent at most, while no answer comes back
DEVICE = re.compile(r'<li class="device.*?</li>', re.S)
END_FORM = re.compile(r'action="(/accounts/sessions/[^/"]+/end/)"')


def lines_of(page):
    return {product: int(quantity) for product, quantity in CART_LINE.findall(page)}


class SoakShopper:
    def __init__(self, name, url, history, products, rng):
        """``products``: (product page, product id) pairs to shop from; ``rng``: this shopper's
        own seeded random.Random."""
        self.name, self.url, self.history, self.products, self.rng = name, url, history, products, rng
        self.browser = Browser(url)
        self.username = f"{name}-{secrets.token_hex(3)}"
        self.password = secrets.token_urlsafe(18)
        self.registered = False
        self.signed_in = False
        self.lines = {}  # the cart page's lines when it was last read: {product id: quantity}
        self.phones = 0  # phones signed in so far: each is a new browser, a session of its own
        self.incidents = []  # exceptions of this code (not of the shop): each a finding to fix here

    # Requests --------------------------------------------------------------------------
    def send(self, action, method, path, data=None, browser=None, name=None, **facts):
        """One request, recorded; what its answer showed is added to its op. (op, response)."""
        browser = browser or self.browser
        op, response = self.history.request(
            browser, self.name, name or self.name, action, method, path, data, **facts
        )
        if response is not None:
            self.note(op, response)
        if unavailable(op):  # as a person would: wait a moment (as long as a 503 asks, at most 2 s)
            time.sleep(min(float(op.get("retry_after") or 0.5), 2.0))
        return op, response

    def note(self, op, response):
        if (op["location"] or "").startswith("/accounts/login/"):
            op["user"] = None
        elif response.status_code == 200 and response.headers.get("content-type", "").startswith("text/html"):
            who = SIGNED_IN_AS.search(response.text)
            op["user"] = html.unescape(who[1]) if who else None
        if op["browser"] == self.name and "user" in op:
            self.signed_in = op["user"] == self.username

    def page(self, action, path, browser=None, name=None, **facts):
        """GET a page; (op, its text or "" without a 200, the CSRF token of its form or None)."""
        op, response = self.send(action, "GET", path, browser=browser, name=name, **facts)
        text = response.text if response is not None and response.status_code == 200 else ""
        token = CSRF_FIELD.search(text)
        return op, text, token[1] if token else None

    def post(self, action, path, csrf, fields=None, browser=None, name=None, **facts):
        data = {**(fields or {}), "csrfmiddlewaretoken": csrf}
        return self.send(action, "POST", path, data, browser=browser, name=name, **facts)

    # Pages that are reads of the session -----------------------------------------------
    def cart(self):
        op, text, token = self.page("cart", "/cart/")
        if text:
            self.lines = lines_of(text)
            op["lines"] = {str(product): quantity for product, quantity in self.lines.items()}
        return op, token

    def view_orders(self):
        op, text, _ = self.page("orders", "/accounts/orders/")
        if text:
            op["orders"] = sorted({int(order) for order in ORDER_LINK.findall(text)})
        return op

    def product_page(self, product):
        path, product_id = product
        op, text, token = self.page("product", path, product=product_id)
        stock = IN_STOCK.search(text)
        if stock:
            op["stock"] = int(stock[1])
        return token

    # What people do ----------------------------------------------------------------------
    def browse(self):
        if self.rng.random() < 0.5:
            self.page("browse", self.rng.choice(["/", "/?page=2", "/?q=oak"]))
        else:
            self.product_page(self.rng.choice(self.products))

    def add(self):
        product = self.rng.choice(self.products)
        token = self.product_page(product)
        if token:
            self.add_line(product[1], self.rng.randint(1, 3), token)

    def add_line(self, product_id, quantity, token):
        path = f"/cart/add/{product_id}/"
        self.post("add", path, token, {"quantity": quantity}, product=product_id, quantity=quantity)

    def two_tabs(self):
        """Two tabs, each on another product's page, press "add" at the same moment."""
        first, second = self.rng.sample(self.products, 2)
        tokens = [self.product_page(first), self.product_page(second)]
        if not all(tokens):
            return
        together = threading.Barrier(2)

        def press(product_id, token):
            together.wait(timeout=10)
            self.add_line(product_id, 1, token)

        tab = threading.Thread(target=press, args=(second[1], tokens[1]))
        tab.start()
        press(first[1], tokens[0])
        tab.join()

    def set_quantity(self):
        _, token = self.cart()
        if self.lines and token:
            product_id = self.rng.choice(sorted(self.lines))
            quantity = self.rng.randint(1, 5)
            fields = {"quantity": quantity, "override": 1}
            self.post("set", f"/cart/add/{product_id}/", token, fields, product=product_id, quantity=quantity)

    def remove(self):
        _, token = self.cart()
        if self.lines and token:
            product_id = self.rng.choice(sorted(self.lines))
            self.post("remove", f"/cart/remove/{product_id}/", token, product=product_id)

    def checkout(self):
        """The checkout form, sent again with the same token while no answer comes back."""
        _, text, csrf = self.page("checkout_page", "/checkout/")
        form = CHECKOUT_TOKEN.search(text)
        if not (form and csrf):
            return
        fields = {**ADDRESS, "checkout_token": form[1]}
        for _ in range(RESUBMITS):
            op, _ = self.post("checkout", "/checkout/", csrf, fields, token=form[1])
            if outcome(op) != UNKNOWN:
                break
        if outcome(op) == DONE:
            self.lines = {}
            self.page("order", op["location"])
            self.view_orders()

    def sign_out_and_in(self):
        _, token = self.cart()
        if token:
            self.post("logout", "/accounts/logout/", token)
            self.sign_in()

    def sign_in(self, browser=None, name=None):
        _, _, token = self.page("login_page", "/accounts/login/", browser=browser, name=name)
        if not token:
            return False
        fields = {"username": self.username, "password": self.password}
        op, _ = self.post("login", "/accounts/login/", token, fields, browser=browser, name=name)
        return outcome(op) == DONE

    def sign_up(self):
        _, _, token = self.page("signup_page", "/accounts/signup/")
        if token:
            fields = {"username": self.username, "password1": self.password, "password2": self.password}
            op, response = self.post("signup", "/accounts/signup/", token, fields)
            # Taken: an earlier sign-up whose answer was lost made the account.
            taken = response is not None and any(
                "already exists" in e for e in FORM_ERROR.findall(response.text)
            )
            self.registered = outcome(op) == DONE or taken

    def end_other_device(self):
        """Sign in on a phone, then end the phone's session from this browser's device list."""
        self.phones += 1
        name = f"{self.name}-phone{self.phones}"
        agent = f"soak-{name}-{self.username}"
        with Browser(self.url) as phone:
            phone.headers["User-Agent"] = agent
            if not self.sign_in(phone, name):
                return
            self.page("cart", "/cart/", browser=phone, name=name)
            _, text, _ = self.page("devices", "/accounts/sessions/")
            block = next((b for b in DEVICE.findall(text) if agent in b), "")
            form, csrf = END_FORM.search(block), CSRF_FIELD.search(block)
            if form and csrf:
                self.post("end_device", form[1], csrf[1], target=name)
                self.page("cart", "/cart/", browser=phone, name=name)

    # A whole visit -----------------------------------------------------------------------
    def ensure_signed_in(self, attempts=8):
        """Sign up (the first time) or in until the cart page shows this shopper signed in."""
        for _ in range(attempts):
            op, _ = self.cart()
            if self.signed_in:
                return True
            if "user" in op:  # the page said: nobody is signed in
                if self.registered:
                    self.sign_in()
                else:
                    self.sign_up()
        return False

    def shop(self, stop):
        """Shop until ``stop`` is set."""
        names, weights = list(ACTIONS), list(ACTIONS.values())
        while not stop.is_set():
            try:
                if not self.signed_in:
                    self.ensure_signed_in(attempts=1)
                else:
                    getattr(self, self.rng.choices(names, weights)[0])()
            except Exception as error:  # this code's bug, not the shop's: noted, and shopping goes on
                self.incidents.append({"shopper": self.name, "at": self.history.now(), "error": repr(error)})
                time.sleep(1)
            time.sleep(self.rng.uniform(*PAUSE))

    def last_look(self, attempts=10):
        """After the soak: the cart and the order list, once each is answered."""
        for look in (lambda: self.cart()[0], self.view_orders):
            for _ in range(attempts):
                if not unavailable(look()):
                    break

    def close(self):
        self.browser.close()
