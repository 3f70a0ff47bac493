"""A logged-in shopper for the benchmark: signs up through nginx and fills a cart.

The load generator replays the shopper's cookies and CSRF token; this client only prepares
them (and checks afterwards that the session still authenticates), so it is plain
``http.client`` with a cookie dict, not a browser.
"""

import http.client
import json
import re
import secrets
import urllib.parse
from http.cookies import SimpleCookie

from django.conf import settings

from ..children import StackError

PASSWORD = "bench-shopper-2026"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Shopper:
    def __init__(self, port):
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        self.cookies = {}
        self.username = None
        self.token = None  # the CSRF form token of the last page that had one
        self.set_cookies = {}  # the last Set-Cookie header received for each cookie name

    def request(self, method, path, fields=None):
        """(status, headers, body) of one request; keeps the cookies the response sets."""
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            headers |= {"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.set_cookies[name] = header
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        found = TOKEN.search(text)
        if found:
            self.token = found.group(1)
        return response.status, response.headers, text

    def cookie_header(self):
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    @property
    def session_cookie(self):
        return self.cookies.get(settings.SESSION_COOKIE_NAME, "")

    def post(self, path, fields):
        """POST with the CSRF token, as the shop's forms do; fails loudly on anything but a redirect."""
        status, _, text = self.request("POST", path, {**fields, "csrfmiddlewaretoken": self.token})
        if status != 302:
            raise StackError(f"POST {path} answered {status}, not 302:\n{text[:500]}")
        return status

    def sign_up(self, form_page, prefix="bench"):
        """Sign up (which logs in), then take the rotated CSRF token from ``form_page``.

        Not every page has a form for every visitor; a product page in stock always does.
        """
        self.username = f"{prefix}-{secrets.token_hex(4)}"
        self.request("GET", "/accounts/signup/")
        fields = {"username": self.username, "password1": PASSWORD, "password2": PASSWORD}
        self.post("/accounts/signup/", fields)
        self.request("GET", form_page)
        return self

    def add_to_cart(self, product_id, quantity=1):
        return self.post(f"/cart/add/{product_id}/", {"quantity": quantity, "override": 1})

    def probe(self):
        status, _, text = self.request("GET", "/lab/probe")
        if status != 200:
            raise StackError(f"/lab/probe answered {status}")
        return json.loads(text)
