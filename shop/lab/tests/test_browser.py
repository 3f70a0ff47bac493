"""The story in a real browser: Chromium through nginx and three servers of two workers each.

One script for every profile. Where every server can read the session (db, cache, cached_db, the
two cookie profiles, and file on one host) a shopper signs up, fills a cart and checks out, and
the lab's continuity burst stays green. Under ``locmem`` the same script is bounced back to
the login page or loses the cart, and the burst turns red: the tests assert that it happens.
Screenshots of the key steps land in test-artifacts/browser/<test>/.
"""

import re
import secrets
import time
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from playwright.sync_api import expect

from shop.core.profiles import PROFILES

from .browser import PHONE

pytestmark = [
    pytest.mark.stack,
    pytest.mark.browser,
    pytest.mark.parametrize("stack", PROFILES, indirect=True),
]

# The profile whose sessions live in each worker's memory: the lab's stateful failure.
FORGETFUL = "locmem"
SERVERS = 3
STACK = {"servers": SERVERS, "workers": 2}  # every profile's, shared with the other modules
PASSWORD = "a-long-password-for-browsers-9"
ADDRESS = {"full_name": "Ada Shopper", "address": "1 Loop Road", "city": "Localhost", "postal_code": "12345"}
BURST = 24
QUANTITIES = (1, 2, 3)  # of three different products
# Page loads allowed to reach the one worker (of six) that holds a locmem session: measured
# 3 to 18 on this machine, since round robin sends only every third request to its server.
LAB_ATTEMPTS = 60


@pytest.fixture(scope="module")
def profile_stack(chromium, stack):
    """The profile's stack; asks for Chromium first, so that a machine without it skips before
    starting stacks for nothing."""
    return stack


def sign_up(tab, username, next_page=""):
    """Sign up through the form; return the session cookie the sign-up answer set."""
    page = tab.page
    page.goto(f"/accounts/signup/?next={next_page}" if next_page else "/accounts/signup/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    with page.expect_response(lambda r: r.request.method == "POST") as answer, page.expect_navigation():
        page.get_by_role("button", name="Sign up").click()
    assert answer.value.status == 302, f"sign-up refused: HTTP {answer.value.status}"
    # The flash message travels in its own cookie: it shows even where the session is lost.
    expect(page.get_by_text(f"Welcome, {username}! You are signed in.")).to_be_visible()
    for header in answer.value.header_values("set-cookie"):
        name, _, rest = header.partition("=")
        if name == settings.SESSION_COOKIE_NAME:
            value = rest.split(";", 1)[0]
            host = urlsplit(page.url).hostname
            return {
                "name": name,
                "value": value,
                "domain": host,
                "path": "/",
                "httpOnly": True,
                "sameSite": "Lax",
            }
    raise AssertionError("the sign-up answer set no session cookie")


class Shopper:
    """Runs the shopping script and compares what each page shows with what it should.

    ``strict``: the first page that forgot the login or the cart fails the test. Otherwise
    every such page is recorded in ``losses`` and the shopper carries on while the shop lets
    them (the checkout link needs a cart, the checkout page a login).
    """

    def __init__(self, tab, strict):
        self.tab, self.page, self.strict = tab, tab.page, strict
        self.username = f"e2e-{secrets.token_hex(4)}"
        self.cart = {}  # product name: quantity, as the shopper chose them
        self.steps, self.losses, self.phone_overflow = [], [], {}
        self.order = None

    def check(self, ok, problem):
        if ok:
            return True
        self.losses.append(f"{self.tab.path}: {problem}")
        if self.strict:
            self.tab.screenshot("failure")
            raise AssertionError(f"{problem} at {self.tab.path}; steps so far: {self.steps}")
        if len(self.losses) == 1:
            self.tab.screenshot("forgotten")
        return False

    def follow(self, locator):
        """Click a link or a submit button and wait for the page it leads to."""
        with self.page.expect_navigation():
            locator.click()

    def look(self, step):
        """Record what the header and footer show; note it if the shop forgot the shopper."""
        who = self.page.locator(".site-header .who")
        seen = {
            "step": step,
            "path": self.tab.path,
            "served_by": self.page.get_by_test_id("served-by").inner_text(),
            "signed_in_as": who.inner_text() if who.count() else None,
            "cart_count": int(self.page.get_by_test_id("cart-count").inner_text()),
        }
        self.steps.append(seen)
        expected = sum(self.cart.values())
        self.check(seen["signed_in_as"] == self.username, f"{step}: shown signed out")
        self.check(
            seen["cart_count"] == expected,
            f"{step}: header shows {seen['cart_count']} in cart, not {expected}",
        )

    def shop(self):
        sign_up(self.tab, self.username)
        expect(self.page).to_have_url(re.compile(r"/$"))
        self.look("signed up")
        for index, (href, quantity) in enumerate(zip(self.browse(), QUANTITIES, strict=True)):
            if index:
                self.follow(self.page.locator("a.brand"))
                self.look("catalog")
            self.add(href, quantity)
        if self.review_cart() and self.check_out():
            self.see_history()

    def browse(self):
        """A category, then the whole catalog; three products in stock."""
        self.follow(self.page.locator("aside.categories li:nth-child(2) a"))
        expect(self.page).to_have_url(re.compile(r"/c/[\w-]+/$"))
        self.look("category")
        self.follow(self.page.locator("aside.categories").get_by_role("link", name="All products"))
        expect(self.page.get_by_role("heading", name="All products")).to_be_visible()
        self.look("catalog")
        self.tab.screenshot("catalog")
        self.phone_overflow["catalog"] = self.tab.screenshot("catalog-phone", PHONE)
        links = self.page.locator("li.card:not(:has(.stock.out)) a.card-link")
        hrefs = [links.nth(i).get_attribute("href") for i in range(min(links.count(), len(QUANTITIES)))]
        assert len(hrefs) == len(QUANTITIES), "too few products in stock on the first catalog page"
        return hrefs

    def add(self, href, quantity):
        self.follow(self.page.locator(f'a.card-link[href="{href}"]'))
        expect(self.page).to_have_url(re.compile(re.escape(href) + "$"))
        name = self.page.locator("article.product h1").inner_text()
        stock = int(self.page.locator("article.product p.stock").inner_text().split()[0])
        self.look(f"product {name}")
        quantity = min(quantity, stock)
        self.page.locator("form.add-form input[name=quantity]").fill(str(quantity))
        self.follow(self.page.get_by_role("button", name="Add to cart"))
        expect(self.page).to_have_url(re.compile(r"/cart/$"))
        self.cart[name] = quantity
        self.look(f"added {name}")

    def review_cart(self):
        self.tab.screenshot("cart")
        self.phone_overflow["cart"] = self.tab.screenshot("cart-phone", PHONE)
        for name, quantity in self.cart.items():
            line = self.page.get_by_label(f"Quantity of {name}")
            shown = line.input_value() if line.count() else None
            self.check(shown == str(quantity), f"cart: {name} shows quantity {shown}, not {quantity}")
        checkout = self.page.get_by_role("link", name="Check out")
        if not self.check(checkout.count() == 1, "cart: empty, nothing to check out"):
            return False
        self.follow(checkout)
        return self.check(self.tab.path == "/checkout/", "checkout: sent to the login page")

    def check_out(self):
        self.look("checkout")
        self.tab.screenshot("checkout")
        for name, quantity in self.cart.items():
            expect(self.page.locator("aside.summary")).to_contain_text(f"{quantity} × {name}")
        for field_name, value in ADDRESS.items():
            self.page.locator(f"input[name={field_name}]").fill(value)
        self.follow(self.page.get_by_role("button", name="Place order"))
        placed = re.fullmatch(r"/orders/(\d+)/", self.tab.path)
        if not self.check(placed, "placing the order: no order page"):
            return False
        self.order = placed.group(1)
        ordered, self.cart = self.cart, {}
        expect(self.page.get_by_role("heading", name=f"Order {self.order}")).to_be_visible()
        for name in ordered:
            expect(self.page.locator("table.cart")).to_contain_text(name)
        self.look("order placed")
        self.tab.screenshot("order")
        return True

    def see_history(self):
        self.follow(self.page.get_by_role("link", name="All your orders"))
        if self.check(self.tab.path == "/accounts/orders/", "order history: sent to the login page"):
            self.look("order history")
            listed = self.page.get_by_role("link", name=f"Order {self.order}", exact=True)
            self.check(listed.count() == 1, f"order history: order {self.order} not listed")
            self.tab.screenshot("history")


def servers_of(answered_by):
    return sorted({served_by.split(":")[0] for served_by in answered_by})


def test_shopping_flow(profile_stack, open_tab):
    """Sign up, browse, add three products, check out, find the order in the history."""
    tab = open_tab(profile_stack)
    forgetful = profile_stack.profile == FORGETFUL
    shopper = Shopper(tab, strict=not forgetful)
    started = time.monotonic()
    try:
        shopper.shop()
    finally:
        tab.save(
            "journey",
            {
                "profile": profile_stack.profile,
                "seconds": round(time.monotonic() - started, 1),
                "steps": shopper.steps,
                "losses": shopper.losses,
                "order": shopper.order,
                "answered_by": tab.answered_by,
                "phone_overflow_px": shopper.phone_overflow,
                "console_errors": tab.console_errors,
            },
        )

    assert servers_of(tab.answered_by) == [f"server{k}" for k in range(1, SERVERS + 1)]
    assert len(servers_of(step["served_by"] for step in shopper.steps)) > 1, "every page came from one server"
    assert tab.server_errors == []
    assert tab.console_errors == []
    # Pages shown at phone width (390 px) never scroll sideways.
    assert all(px <= 0 for px in shopper.phone_overflow.values()), shopper.phone_overflow
    if forgetful:
        # Each worker keeps its own sessions, and a worker that never saw one drops the cookie:
        # within the ~20 requests of the script the shopper must have been forgotten.
        assert shopper.losses, f"locmem never lost the session: {shopper.steps}"
    else:
        assert shopper.losses == []
        assert shopper.order
        assert shopper.steps[-1]["cart_count"] == 0


def lab_signed_in(tab, session_cookie):
    """Open /lab/ as the signed-in shopper; return how many page loads that took.

    Under locmem only the worker that signed the shopper up knows the session, and any other
    one answers "anonymous" and clears the cookie; the test puts the cookie back (as if the
    shopper had logged in again) until the page comes from that worker.
    """
    burst = tab.page.locator("#burst")
    for attempt in range(1, LAB_ATTEMPTS + 1):
        if burst.get_attribute("data-authenticated") == "true":
            return attempt
        tab.page.context.add_cookies([session_cookie])
        tab.page.goto("/lab/")
    pytest.fail(f"/lab/ never came from the worker holding the session in {LAB_ATTEMPTS} loads")


def test_lab_continuity_burst(profile_stack, open_tab):
    """Signed in, the lab's burst of probes stays green, except under locmem (red cells)."""
    tab = open_tab(profile_stack)
    username = f"lab-{secrets.token_hex(4)}"
    cookie = sign_up(tab, username, next_page="/lab/")
    expect(tab.page).to_have_url(re.compile(r"/lab/$"))
    loads = lab_signed_in(tab, cookie)
    expect(tab.page.locator(".site-header .who")).to_have_text(username)

    tab.page.locator("#burst-count").fill(str(BURST))
    tab.page.locator("#burst-start").click()
    cells = tab.page.locator("#burst-strip li.cell")
    expect(cells).to_have_count(BURST, timeout=30_000)
    expect(tab.page.locator("#burst-start")).to_be_enabled()
    tab.screenshot("burst")
    ok, lost = (tab.page.locator(f"#burst-strip li.cell.{state}").count() for state in ("ok", "lost"))
    tally = tab.page.locator("#burst-tally").inner_text()
    labels = cells.all_inner_texts()  # each cell: the server, then "profile · key id"
    servers = sorted({label.splitlines()[0] for label in labels})
    tab.save(
        "burst",
        {
            "profile": profile_stack.profile,
            "page_loads": loads,
            "ok": ok,
            "lost": lost,
            "tally": tally,
            "servers": servers,
            "console_errors": tab.console_errors,
        },
    )

    assert servers == [f"server{k}" for k in range(1, SERVERS + 1)], tally
    key_id = profile_stack.env["SHOP_SECRET_KEY_ID"]
    assert {label.splitlines()[1] for label in labels} == {f"{profile_stack.profile} · {key_id}"}
    assert tab.console_errors == []
    if profile_stack.profile == FORGETFUL:
        assert lost >= 1, tally
        assert f"{lost} lost" in tally
    else:
        assert loads == 1, "the page after sign-up did not know the shopper"
        assert (ok, lost) == (BURST, 0), tally
        assert tally.startswith(f"{BURST} of {BURST} recognised you")
