"""A corpus of bad input, through nginx, against every session profile.

Expected whatever the profile: a 4xx or an anonymous page, never a 5xx (neither the status
the client got nor any status a server gave nginx, per nginx's access log), and nothing
changed: a logged-in shopper's cart, the orders and the stock are what they were.

One table of cases, one loop. A case runs from a fresh client (its own CSRF cookie), either
anonymous, with a bad session cookie, or with the logged-in shopper's cookie (``shopper``).
"""

import base64
import dataclasses
import json
import secrets
import urllib.parse

import pytest
from django.conf import settings
from django.core import signing

from shop.core.profiles import PROFILES, profile
from shop.core.tests.stack_helpers import (
    forget_login_failures,
    logged_in,
    new_product,
    nginx_outcomes,
    sql,
    stock,
)
from tools.client import CSRF_FIELD, Browser

pytestmark = pytest.mark.stack

SOURCE = "127.0.0.31"  # the corpus's own client address: its failed logins lock no one else
PASSWORD = "a-long-password-for-tests-7"
SCRIPT = "<script>alert(1)</script>"
SIGNED_COOKIE_SALT = "django.contrib.sessions.backends.signed_cookies"
ADDRESS = {"full_name": "Ada", "address": "1 Loop Road", "city": "Localhost", "postal_code": "12345"}
ANY_4XX = frozenset(range(400, 500))
ADD = "/cart/add/{product}/"


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str  # "{product}" is the test product's id, "{slug}" its slug
    fields: dict | None = None  # a form body; the page's CSRF token is added unless csrf says otherwise
    expect: frozenset = frozenset({200})
    csrf: str = "good"  # good, missing, wrong, or offsite (a good token, another site's Origin)
    cookie: str | None = None  # a key of bad_cookies(): the session cookie to send
    shopper: bool = False  # send the logged-in shopper's session cookie
    headers: dict = dataclasses.field(default_factory=dict)
    anonymous: bool = False  # the answer is /lab/probe's and must say: anonymous, empty cart
    location: str | None = None  # where a redirect must go
    absent: str | None = None  # must not appear unescaped in the answer


def quantity(value, **fields):
    return {"quantity": value, **fields}


# fmt: off
CASES = [
    # Session cookies nobody issued: anonymous visitors with an empty cart, never an error.
    *(Case(f"{kind} session cookie", "GET", "/lab/probe", cookie=kind, anonymous=True)
      for kind in ("tampered", "truncated", "oversized", "garbage", "path", "other key", "unsigned")),
    Case("tampered cookie at checkout", "GET", "/checkout/", cookie="tampered", expect={302},
         location="/accounts/login/?next=/checkout/"),
    Case("other-key cookie adding to a cart", "POST", ADD, quantity(1), cookie="other key", expect={302}),
    Case("garbage CSRF cookie", "POST", ADD, quantity(1), csrf="garbage", expect={403}),
    # Invalid quantities, from the shopper: a form error, the cart unchanged.
    *(Case(f"quantity {value!r}", "POST", ADD, quantity(value), shopper=True, expect={400})
      for value in ("0", "-1", "100", "abc", "1e3", "", "1.5", "99999999999999999999", "0x10", SCRIPT)),
    Case("override to 0", "POST", ADD, quantity(0, override=1), shopper=True, expect={400}),
    Case("no quantity", "POST", ADD, {}, shopper=True, expect={400}),
    # Unknown ids and pages.
    Case("unknown product", "POST", "/cart/add/999999999/", quantity(1), shopper=True, expect={404}),
    Case("id past 64 bits", "POST", "/cart/add/99999999999999999999999/", quantity(1), shopper=True,
         expect={404}),
    Case("remove unknown", "POST", "/cart/remove/999999999/", {}, shopper=True, expect={404}),
    Case("unknown order", "GET", "/orders/999999999/", shopper=True, expect={404}),
    Case("order id past 64 bits", "GET", "/orders/99999999999999999999999/", shopper=True, expect={404}),
    Case("someone else's order", "GET", "/orders/1/", shopper=True, expect={404}),
    Case("unknown product page", "GET", "/p/no-such-product/", expect={404}),
    Case("script as a slug", "GET", "/p/%3Cscript%3E/", expect={404}),
    Case("unknown category", "GET", "/c/no-such-category/", expect={404}),
    Case("page -1", "GET", "/?page=-1"),
    Case("page abc", "GET", "/?page=abc"),
    Case("page past the end", "GET", "/?page=99999999999999999999"),
    # CSRF: missing, wrong, or a good token sent from another site.
    Case("no CSRF token", "POST", ADD, quantity(1), shopper=True, csrf="missing", expect={403}),
    Case("wrong CSRF token", "POST", ADD, quantity(1), shopper=True, csrf="wrong", expect={403}),
    Case("off-site Origin", "POST", ADD, quantity(1), shopper=True, csrf="offsite", expect={403}),
    Case("logout everywhere, forged", "POST", "/accounts/logout_everywhere/", {}, shopper=True,
         csrf="missing", expect={403}),
    Case("checkout, forged", "POST", "/checkout/", ADDRESS, shopper=True, csrf="offsite", expect={403}),
    # Off-site next=: a successful login stays on this site.
    *(Case(f"login next={target}", "POST", f"/accounts/login/?next={urllib.parse.quote(target)}",
           {"username": "{user}", "password": PASSWORD}, expect={302}, location="/")
      for target in ("https://evil.example/", "/\\evil.example/")),
    Case("login page next=javascript:", "GET", "/accounts/login/?next=javascript:alert(1)//",
         absent='href="javascript:'),
    # HTML/JS and very long values: escaped in the page, refused by the form.
    Case("script in search", "GET", f"/?q={urllib.parse.quote(SCRIPT)}", absent=SCRIPT),
    Case("SQL in search", "GET", f"/?q={urllib.parse.quote(chr(39) + ' OR 1=1 --')}"),
    Case("long search", "GET", "/?q=" + "a" * 3000),
    Case("script in signup", "POST", "/accounts/signup/",
         {"username": SCRIPT, "password1": "x", "password2": "y"}, absent=SCRIPT),
    Case("long username", "POST", "/accounts/signup/",
         {"username": "u" * 5000, "password1": "x", "password2": "x"}),
    Case("script in login", "POST", "/accounts/login/", {"username": SCRIPT, "password": "x"},
         expect={200, 429}, absent=SCRIPT),
    Case("long checkout fields", "POST", "/checkout/", {**ADDRESS, "full_name": "n" * 5000}, shopper=True,
         expect={400}),
    Case("script in a refused checkout", "POST", "/checkout/", {**ADDRESS, "postal_code": SCRIPT * 3},
         shopper=True, expect={400}, absent=SCRIPT),
    Case("empty checkout", "POST", "/checkout/", {}, shopper=True, expect={400}),
    Case("bad checkout token", "POST", "/checkout/", {**ADDRESS, "checkout_token": "not-a-uuid"},
         shopper=True, expect={400}),
    Case("wrong old password", "POST", "/accounts/password_change/",
         {"old_password": "nope", "new_password1": PASSWORD, "new_password2": PASSWORD}, shopper=True),
    Case("very long URL", "GET", "/" + "a" * 10_000, expect=ANY_4XX),
    Case("body over nginx's limit", "POST", ADD, {"quantity": "1" * 1_500_000}, expect={413}),
    Case("unknown Host", "GET", "/lab/probe", headers={"Host": "evil.example"}, expect={400}),
    # Wrong methods.
    Case("GET a POST-only view", "GET", ADD, expect={405}),
    Case("GET logout", "GET", "/accounts/logout/", shopper=True, expect={405}),
    Case("DELETE the cart", "DELETE", "/cart/", expect={403, 405}),
    Case("PUT a checkout", "PUT", "/checkout/", ADDRESS, shopper=True, expect={403, 405}),
    Case("POST the probe", "POST", "/lab/probe", {}, expect={405}),
    Case("TRACE", "TRACE", "/", expect={405}),
]
# fmt: on


def bad_cookies(shopper_cookie, user_id, product):
    """Session cookies the shop never issued, built from the shopper's real one where useful."""
    middle = len(shopper_cookie) // 2
    forged = {
        "_auth_user_id": str(user_id),
        "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
        "_auth_user_hash": "0" * 64,
        "cart": {str(product): 99},
    }
    flipped = "A" if shopper_cookie[middle] != "A" else "B"
    return {
        "tampered": shopper_cookie[:middle] + flipped + shopper_cookie[middle + 1 :],
        "truncated": shopper_cookie[:middle],
        "oversized": shopper_cookie + "x" * (5000 - len(shopper_cookie)),
        "garbage": "!$%&'()*+-./:<=>?@[]^_`{|}~",
        "path": "../../../../etc/passwd",
        "other key": signing.dumps(
            forged,
            key="another-secret-key-" + "k" * 40,
            salt=SIGNED_COOKIE_SALT,
            serializer=signing.JSONSerializer,
            compress=True,
        ),
        "unsigned": base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("="),
    }


def send(browser, method, path, fields=None, headers=None):
    response = browser.request(method, path, data=fields, headers=headers, timeout=30)
    return response.status_code, response.headers, response.text


def counts(stack):
    return {
        "orders": sql(stack, "SELECT COUNT(*) FROM orders_order")[0][0],
        "order lines": sql(stack, "SELECT COUNT(*) FROM orders_orderitem")[0][0],
    }


@pytest.mark.parametrize("stack", PROFILES, indirect=True)
def test_bad_input_gets_a_4xx_or_an_anonymous_page_and_changes_nothing(stack):
    tag = secrets.token_hex(3)
    slug = f"corpus-{tag}"
    product = new_product(stack, slug, 7)
    if not profile(stack.profile).across_servers:
        # Sessions live in one worker's memory: nobody can log a shopper in from outside, and a
        # real login is known to one worker only. The shopper's cases run with a cookie the
        # other workers do not know: they must still be a 4xx or the login page, never a 5xx.
        shopper = Browser(stack.url)
        fields = {"username": f"shopper-{tag}", "password1": PASSWORD, "password2": PASSWORD}
        assert shopper.submit("/accounts/signup/", "/accounts/signup/", fields).status_code == 302
    else:
        [shopper] = logged_in(stack, [f"shopper-{tag}"], cart={product: 2})
    shopper_cookie = shopper.cookie(settings.SESSION_COOKIE_NAME)
    user_id = sql(stack, "SELECT id FROM accounts_user WHERE username = %s", f"shopper-{tag}")[0][0]
    cookies = bad_cookies(shopper_cookie, user_id, product)
    corpus_user = f"corpus-{tag}"
    signup = {"username": corpus_user, "password1": PASSWORD, "password2": PASSWORD}
    assert Browser(stack.url).submit("/accounts/signup/", "/accounts/signup/", signup).status_code == 302
    # One CSRF cookie and a token of the form that goes with it, for every case's fresh client.
    page = Browser(stack.url, source_address=SOURCE)
    token = CSRF_FIELD.search(page.get(f"/p/{slug}/").text)[1]
    csrf = page.cookie(settings.CSRF_COOKIE_NAME)
    before = counts(stack)

    problems, request_ids = [], []
    try:
        for case in CASES:
            browser = Browser(stack.url, source_address=SOURCE)
            if case.shopper:
                browser.set_cookie(settings.SESSION_COOKIE_NAME, shopper_cookie)
            elif case.cookie:
                browser.set_cookie(settings.SESSION_COOKIE_NAME, cookies[case.cookie])
            headers = {"Origin": browser.origin, **case.headers}
            fields = None
            if case.fields is not None:
                fields = {
                    key: value.format(user=corpus_user) if isinstance(value, str) else value
                    for key, value in case.fields.items()
                }
                browser.set_cookie(
                    settings.CSRF_COOKIE_NAME, "garbage" * 5 if case.csrf == "garbage" else csrf
                )
                if case.csrf in ("good", "offsite", "garbage"):
                    fields["csrfmiddlewaretoken"] = token
                elif case.csrf == "wrong":
                    fields["csrfmiddlewaretoken"] = "x" * len(token)
                if case.csrf == "offsite":
                    headers["Origin"] = "https://evil.example"
            path = case.path.format(product=product, slug=slug)
            status, response_headers, text = send(browser, case.method, path, fields, headers)
            request_ids += [response_headers["X-Request-ID"]] if "X-Request-ID" in response_headers else []

            expected = set(case.expect)
            if not profile(stack.profile).across_servers and case.shopper:
                expected.add(302)  # a worker that does not know the session: the login page
            if status not in expected or status >= 500:
                problems.append(f"{case.name}: HTTP {status}, expected {sorted(expected)}: {text[:200]!r}")
            elif case.anonymous and json.loads(text)["authenticated"] is not False:
                problems.append(f"{case.name}: not anonymous: {text}")
            elif case.anonymous and json.loads(text)["cart_items"] != 0:
                problems.append(f"{case.name}: a cart from a cookie nobody issued: {text}")
            elif case.location and response_headers.get("Location") != case.location:
                problems.append(f"{case.name}: redirected to {response_headers['Location']}")
            elif case.absent and case.absent in text:
                problems.append(f"{case.name}: {case.absent!r} is in the page unescaped")
    finally:
        forget_login_failures(stack, f"addr:{SOURCE}", f"user:{SCRIPT.lower()}")
    assert not problems, "\n".join(problems)

    # No server answered nginx with a 5xx either (nginx retries a GET that got a 502).
    outcomes = nginx_outcomes(stack, request_ids)
    assert len(outcomes) == len(request_ids)
    assert not [(rid, o) for rid, o in outcomes.items() if o[0] >= 500 or any(s >= "500" for s in o[1])]
    # Nothing changed: no order, the stock, and (where a shopper can be logged in) the cart.
    assert counts(stack) == before
    assert stock(stack, product) == 7
    if profile(stack.profile).across_servers:
        probe = shopper.probe()
        assert (probe["authenticated"], probe["username"], probe["cart_items"]) == (True, f"shopper-{tag}", 2)
