"""nginx's micro-cache, through the real stack: shared catalog pages, never anyone's own.

Only the simple stack calls (``start_stack``, ``Browser``, ``shop/lab/tests/stack_tools``).
The cache keeps a page 5 s (nginx/catalog_cache.conf.template), so tests that need a fresh
copy use a URL of their own (a product of their own, or a query string nobody else asks).
"""

import re
import secrets
import time

import pytest

from shop.lab.tests.stack_tools import checkout, logged_in, new_product, set_cookie
from shop.stack.client import Browser

pytestmark = pytest.mark.stack

PROFILES = ["db", "locmem", "file", "cache", "cached_db", "signed_cookies"]
PASSWORD = "a-long-password-for-tests-7"
LIFETIME = 5  # seconds: proxy_cache_valid in nginx/catalog_cache.conf.template
CART_COUNT = re.compile(r'data-testid="cart-count">(\d+)<')
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
WHO = re.compile(r'<span class="who">([^<]+)</span>')


@pytest.fixture(scope="module")
def stack(start_stack):
    stack = start_stack("db", servers=2, workers=2)
    yield stack
    stack.stop()


def cart_count(response):
    return int(CART_COUNT.search(response.text).group(1))


def who(response):
    """The signed-in name in the page's header, or None for an anonymous page."""
    match = WHO.search(response.text)
    return match and match.group(1)


def sign_up(stack, name):
    browser = Browser(stack.url)
    fields = {"username": name, "password1": PASSWORD, "password2": PASSWORD}
    assert browser.submit("/accounts/signup/", "/accounts/signup/", fields).status == 302
    return browser


def catalog_pages(stack):
    """A list page, a category page and a product page in stock, each with a query string of
    this test's own, so that no other test's visit has cached them already."""
    page, product_id = Browser(stack.url).product_for_sale()
    category = re.search(r'href="(/c/[^"/]+/)"', Browser(stack.url).get(page).text).group(1)
    tag = secrets.token_hex(4)
    return [f"/?page=1&t={tag}", f"{category}?t={tag}", f"{page}?t={tag}"], product_id


@pytest.mark.parametrize("profile", PROFILES)
def test_a_shoppers_page_is_never_served_to_anyone_else(start_stack, profile):
    """Shoppers ask first, so a stored shopper's page would be what the others get next.

    ``locmem`` runs one server with one worker: its sessions live in one process's memory,
    and the shoppers must stay signed in for the test to mean anything.
    """
    one_process = profile == "locmem"
    stack = start_stack(profile, servers=1 if one_process else 2, workers=1)
    try:
        tag = secrets.token_hex(3)
        alice, bob = sign_up(stack, f"alice-{tag}"), sign_up(stack, f"bob-{tag}")
        pages, product_id = catalog_pages(stack)
        assert alice.submit(pages[2], f"/cart/add/{product_id}/", {"quantity": 2}).status == 302
        for url in pages:
            for _ in range(2):
                mine = alice.get(url)
                assert (mine.status, who(mine), cart_count(mine)) == (200, f"alice-{tag}", 2), url
                assert mine.header("X-Cache-Status") == "BYPASS"
            theirs = bob.get(url)
            assert (who(theirs), cart_count(theirs)) == (f"bob-{tag}", 0), url
            assert theirs.header("X-Cache-Status") == "BYPASS"
            for _ in range(2):
                stranger = Browser(stack.url).get(url)
                assert (stranger.status, who(stranger), cart_count(stranger)) == (200, None, 0), url
                assert f"alice-{tag}" not in stranger.text and f"bob-{tag}" not in stranger.text
            assert stranger.header("X-Cache-Status") == "HIT", url
    finally:
        stack.stop()


@pytest.mark.parametrize("which", ["list", "category", "product", "search"])
def test_an_anonymous_visitor_gets_the_second_request_from_the_cache(stack, which):
    pages, _ = catalog_pages(stack)
    url = {"list": pages[0], "category": pages[1], "product": pages[2], "search": f"{pages[0]}&q=oak"}[which]
    first, second = Browser(stack.url).get(url), Browser(stack.url).get(url)
    assert (first.status, second.status) == (200, 200)
    assert first.header("X-Cache-Status") == "MISS"
    assert second.header("X-Cache-Status") == "HIT"
    assert "Cookie" not in (first.header("Vary") or "")
    if which != "product":  # a product page brings the visitor's CSRF cookie, below
        assert first.header("Set-Cookie") is None and second.header("Set-Cookie") is None


def test_a_cached_product_page_carries_each_visitors_own_csrf_token(stack):
    pages, product_id = catalog_pages(stack)
    page = pages[2]
    answers, tokens, cookies = [], [], []
    for _ in range(3):
        visitor = Browser(stack.url)
        answers.append(visitor.get(page))
        tokens.append(TOKEN.search(answers[-1].text).group(1))
        cookies.append(visitor.cookie("csrftoken"))
    assert [answer.header("X-Cache-Status") for answer in answers] == ["MISS", "HIT", "HIT"]
    assert len(set(tokens)) == len(set(cookies)) == 3 and None not in cookies
    assert "<csrf-token>" not in answers[1].text
    # Another visitor's token, from the same cached page, is refused.
    thief = Browser(stack.url)
    thief.get(page)
    refused = thief.request(f"/cart/add/{product_id}/", {"quantity": 1, "csrfmiddlewaretoken": tokens[0]})
    assert refused.status == 403


def test_a_visitor_arriving_on_a_cached_page_adds_to_the_cart_and_sees_their_cart(stack):
    pages, product_id = catalog_pages(stack)
    Browser(stack.url).get(pages[2])  # cached by someone else's visit
    visitor = Browser(stack.url)
    arrived = visitor.get(pages[2])
    assert arrived.header("X-Cache-Status") == "HIT"
    added = visitor.submit(pages[2], f"/cart/add/{product_id}/", {"quantity": 3})
    assert (added.status, added.header("Location")) == (302, "/cart/")
    cart = visitor.get("/cart/")
    assert cart.status == 200 and cart_count(cart) == 3
    assert cart.header("X-Cache-Status") == "BYPASS"
    for url in pages:  # with a session now: their own pages, never the cached ones
        own = visitor.get(url)
        assert (cart_count(own), own.header("X-Cache-Status")) == (3, "BYPASS")
    assert cart_count(Browser(stack.url).get(pages[0])) == 0


def test_a_product_that_sells_out_shows_as_sold_out_within_the_cache_lifetime(stack):
    slug = f"last-one-{secrets.token_hex(3)}"
    product_id = new_product(stack, slug, stock=1)
    page = f"/p/{slug}/"
    for _ in range(2):
        shown = Browser(stack.url).get(page)
        assert "1 in stock" in shown.text
    assert shown.header("X-Cache-Status") == "HIT"

    [buyer] = logged_in(stack, [f"buyer-{slug}"], cart={product_id: 1})
    _, order = checkout(buyer)
    assert order.status == 302, order.text[:300]
    sold_at = time.monotonic()
    assert "Sold out" in buyer.get(page).text  # a shopper's page is never the cached one
    while "Sold out" not in (visit := Browser(stack.url).get(page)).text:
        assert time.monotonic() - sold_at < LIFETIME + 1, "still offered after the cache's lifetime"
        time.sleep(0.25)
    assert 'action="/cart/add/' not in visit.text


@pytest.mark.parametrize(
    "path",
    ["/cart/", "/accounts/login/", "/accounts/signup/", "/admin/login/", "/lab/", "/lab/probe", "/healthz",
     "/checkout/", "/no-such-page/"],
)  # fmt: skip
def test_pages_that_are_not_the_catalog_are_never_cached(stack, path):
    answers = [Browser(stack.url).get(path) for _ in range(3)]
    assert [answer.header("X-Cache-Status") for answer in answers] == ["BYPASS"] * 3


def test_posts_and_visitors_with_a_session_or_a_message_are_never_cached(stack):
    pages, product_id = catalog_pages(stack)
    posts = [Browser(stack.url).request(f"/cart/add/{product_id}/", {"quantity": 1}) for _ in range(2)]
    assert [(post.status, post.header("X-Cache-Status")) for post in posts] == [(403, "BYPASS")] * 2
    [shopper] = logged_in(stack, [f"session-{secrets.token_hex(3)}"])
    assert [shopper.get(pages[0]).header("X-Cache-Status") for _ in range(2)] == ["BYPASS"] * 2
    messaged = Browser(stack.url)
    set_cookie(messaged, "messages", "waiting")
    assert [messaged.get(pages[0]).header("X-Cache-Status") for _ in range(2)] == ["BYPASS"] * 2
