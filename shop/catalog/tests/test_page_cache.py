"""nginx's micro-cache, through the real stack: shared catalog pages, never anyone's own.

The cache keeps a page 5 s (nginx/catalog_cache.conf.template), so tests that need a fresh
copy use a URL of their own (a product of their own, or a query string nobody else asks).
"""

import re
import secrets
import time

import pytest

from shop.core.profiles import PROFILES, profile
from shop.core.tests.stack_helpers import checkout, logged_in, new_product
from tools.client import CSRF_FIELD, Browser, products_for_sale

pytestmark = pytest.mark.stack

PASSWORD = "a-long-password-for-tests-7"
LIFETIME = 5  # seconds: proxy_cache_valid in nginx/catalog_cache.conf.template
CART_COUNT = re.compile(r'data-testid="cart-count">(\d+)<')
WHO = re.compile(r'<span class="who">([^<]+)</span>')
CATEGORY_LINK = re.compile(r'href="(/c/[^"/]+/)"')


def cart_count(response):
    return int(CART_COUNT.search(response.text).group(1))


def who(response):
    """The signed-in name in the page's header, or None for an anonymous page."""
    match = WHO.search(response.text)
    return match and match.group(1)


def cache_status(response):
    return response.headers.get("X-Cache-Status")


def sign_up(stack, name):
    browser = Browser(stack.url)
    fields = {"username": name, "password1": PASSWORD, "password2": PASSWORD}
    assert browser.submit("/accounts/signup/", "/accounts/signup/", fields).status_code == 302
    return browser


def catalog_pages(stack):
    """A list page, a category page and a product page in stock, each with a query string of
    this test's own, so that no other test's visit has cached them already."""
    [(page, product_id)] = products_for_sale(Browser(stack.url))
    category = CATEGORY_LINK.search(Browser(stack.url).get(page).text).group(1)
    tag = secrets.token_hex(4)
    return [f"/?page=1&t={tag}", f"{category}?t={tag}", f"{page}?t={tag}"], product_id


# locmem runs one server with one worker: its sessions live in one process's memory, and the
# shoppers must stay signed in for the test to mean anything.
EVERY_PROFILE = [
    {"profile": p} | ({} if profile(p).across_servers else {"servers": 1, "workers": 1}) for p in PROFILES
]


@pytest.mark.parametrize("stack", EVERY_PROFILE, indirect=True, ids=PROFILES)
def test_a_shoppers_page_is_never_served_to_anyone_else(stack):
    """Shoppers ask first, so a stored shopper's page would be what the others get next."""
    tag = secrets.token_hex(3)
    alice, bob = sign_up(stack, f"alice-{tag}"), sign_up(stack, f"bob-{tag}")
    pages, product_id = catalog_pages(stack)
    assert alice.submit(pages[2], f"/cart/add/{product_id}/", {"quantity": 2}).status_code == 302
    for url in pages:
        for _ in range(2):
            mine = alice.get(url)
            assert (mine.status_code, who(mine), cart_count(mine)) == (200, f"alice-{tag}", 2), url
            assert cache_status(mine) == "BYPASS"
        theirs = bob.get(url)
        assert (who(theirs), cart_count(theirs)) == (f"bob-{tag}", 0), url
        assert cache_status(theirs) == "BYPASS"
        for _ in range(2):
            stranger = Browser(stack.url).get(url)
            assert (stranger.status_code, who(stranger), cart_count(stranger)) == (200, None, 0), url
            assert f"alice-{tag}" not in stranger.text and f"bob-{tag}" not in stranger.text
        assert cache_status(stranger) == "HIT", url


@pytest.mark.parametrize("which", ["list", "category", "product", "search"])
def test_an_anonymous_visitor_gets_the_second_request_from_the_cache(stack, which):
    pages, _ = catalog_pages(stack)
    url = {"list": pages[0], "category": pages[1], "product": pages[2], "search": f"{pages[0]}&q=oak"}[which]
    first, second = Browser(stack.url).get(url), Browser(stack.url).get(url)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (cache_status(first), cache_status(second)) == ("MISS", "HIT")
    assert "Cookie" not in first.headers.get("Vary", "")
    if which != "product":  # a product page brings the visitor's CSRF cookie, below
        assert "set-cookie" not in first.headers and "set-cookie" not in second.headers


def test_a_cached_product_page_carries_each_visitors_own_csrf_token(stack):
    pages, product_id = catalog_pages(stack)
    page = pages[2]
    answers, tokens, cookies = [], [], []
    for _ in range(3):
        visitor = Browser(stack.url)
        answers.append(visitor.get(page))
        tokens.append(CSRF_FIELD.search(answers[-1].text).group(1))
        cookies.append(visitor.cookie("csrftoken"))
    assert [cache_status(answer) for answer in answers] == ["MISS", "HIT", "HIT"]
    assert len(set(tokens)) == len(set(cookies)) == 3 and None not in cookies
    assert "<csrf-token>" not in answers[1].text
    # Another visitor's token, from the same cached page, is refused.
    thief = Browser(stack.url)
    thief.get(page)
    refused = thief.post(f"/cart/add/{product_id}/", data={"quantity": 1, "csrfmiddlewaretoken": tokens[0]})
    assert refused.status_code == 403


def test_a_visitor_arriving_on_a_cached_page_adds_to_the_cart_and_sees_their_cart(stack):
    pages, product_id = catalog_pages(stack)
    Browser(stack.url).get(pages[2])  # cached by someone else's visit
    visitor = Browser(stack.url)
    arrived = visitor.get(pages[2])
    assert cache_status(arrived) == "HIT"
    token = CSRF_FIELD.search(arrived.text).group(1)
    added = visitor.post(f"/cart/add/{product_id}/", data={"quantity": 3, "csrfmiddlewaretoken": token})
    assert (added.status_code, added.headers.get("Location")) == (302, "/cart/")
    cart = visitor.get("/cart/")
    assert cart.status_code == 200 and cart_count(cart) == 3
    assert cache_status(cart) == "BYPASS"
    for url in pages:  # with a session now: their own pages, never the cached ones
        own = visitor.get(url)
        assert (cart_count(own), cache_status(own)) == (3, "BYPASS")
    assert cart_count(Browser(stack.url).get(pages[0])) == 0


def test_a_product_that_sells_out_shows_as_sold_out_within_the_cache_lifetime(stack):
    slug = f"last-one-{secrets.token_hex(3)}"
    product_id = new_product(stack, slug, stock=1)
    page = f"/p/{slug}/"
    for _ in range(2):
        shown = Browser(stack.url).get(page)
        assert "1 in stock" in shown.text
    assert cache_status(shown) == "HIT"

    [buyer] = logged_in(stack, [f"buyer-{slug}"], cart={product_id: 1})
    _, order = checkout(buyer)
    assert order.status_code == 302, order.text[:300]
    sold_at = time.monotonic()
    assert "Sold out" in buyer.get(page).text  # a shopper's page is never the cached one
    while "Sold out" not in (visit := Browser(stack.url).get(page)).text:
        assert time.monotonic() - sold_at < LIFETIME + 1, "still offered after the cache's lifetime"
        time.sleep(0.25)
    assert 'action="/cart/add/' not in visit.text


NOT_THE_CATALOG = [
    "/cart/",
    "/accounts/login/",
    "/accounts/signup/",
    "/admin/login/",
    "/lab/",
    "/lab/probe",
    "/healthz",
    "/checkout/",
    "/no-such-page/",
]


@pytest.mark.parametrize("path", NOT_THE_CATALOG)
def test_pages_that_are_not_the_catalog_are_never_cached(stack, path):
    answers = [Browser(stack.url).get(path) for _ in range(3)]
    assert [cache_status(answer) for answer in answers] == ["BYPASS"] * 3


def test_posts_and_visitors_with_a_session_or_a_message_are_never_cached(stack):
    pages, product_id = catalog_pages(stack)
    posts = [Browser(stack.url).post(f"/cart/add/{product_id}/", data={"quantity": 1}) for _ in range(2)]
    assert [(post.status_code, cache_status(post)) for post in posts] == [(403, "BYPASS")] * 2
    [shopper] = logged_in(stack, [f"session-{secrets.token_hex(3)}"])
    assert [cache_status(shopper.get(pages[0])) for _ in range(2)] == ["BYPASS"] * 2
    messaged = Browser(stack.url)
    messaged.set_cookie("messages", "waiting")
    assert [cache_status(messaged.get(pages[0])) for _ in range(2)] == ["BYPASS"] * 2
