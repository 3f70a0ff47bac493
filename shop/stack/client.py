"""A small cookie-keeping HTTP client, for scripts and tests that talk to the stack like a browser.

It keeps cookies but never follows redirects, so callers see every 302 (a login redirect is
the lab's evidence of a lost session). Only for http(s)://127.0.0.1 URLs of our own stack.
"""

import functools
import http.client
import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Response:
    status: int
    headers: object
    text: str

    def header(self, name):
        return self.headers.get(name)


class NoFormError(AssertionError):
    """The page meant to hold a form has none (a login redirect, say): nothing was posted."""

    def __init__(self, page, response):
        super().__init__(f"no CSRF token in {page} (HTTP {response.status})")
        self.response = response


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class _FromAddress(urllib.request.HTTPHandler):
    """Connect from another loopback address, so nginx sees another client (127.0.0.0/8 is local)."""

    def __init__(self, address):
        super().__init__()
        self.address = address

    def http_open(self, request):
        connection = functools.partial(http.client.HTTPConnection, source_address=(self.address, 0))
        return self.do_open(connection, request)


class Browser:
    """Keeps cookies like a browser, but never follows redirects: callers look at them.

    The cookie jar is thread-safe, so two threads may share one browser (one session).
    """

    def __init__(self, base_url, ssl_context=None, source_address=None):
        """``ssl_context``: for https:// (``runstack --tls``), one that trusts the stack's certificate;
        ``source_address``: a loopback address to connect from (http:// only), another client to nginx."""
        self.base_url = base_url.rstrip("/")
        self.cookies = http.cookiejar.CookieJar()
        handlers = [urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect]
        if ssl_context:
            handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
        if source_address:
            handlers.append(_FromAddress(source_address))
        self.opener = urllib.request.build_opener(*handlers)

    def request(self, path, data=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        # Browsers send Origin with a POST, and Django's CSRF check compares it with the host
        # it sees: through nginx, that needs X-Forwarded-Host with the port.
        headers = {"Origin": self.base_url} if data is not None else {}
        request = urllib.request.Request(self.base_url + path, data=body, headers=headers)  # noqa: S310 (http://127.0.0.1)
        try:
            response = self.opener.open(request, timeout=15)
        except urllib.error.HTTPError as error:  # any status >= 300, since redirects are not followed
            response = error
        with response:
            return Response(response.status, response.headers, response.read().decode())

    def get(self, path):
        return self.request(path)

    def submit(self, form_page, action, fields):
        """POST ``fields`` to ``action`` with the CSRF token of the form on ``form_page``.

        Raises ``NoFormError`` (an AssertionError, for tests) when the page has no form.
        """
        page = self.get(form_page)
        token = CSRF_FIELD.search(page.text)
        if not token:
            raise NoFormError(form_page, page)
        return self.request(action, {**fields, "csrfmiddlewaretoken": token.group(1)})

    def probe(self):
        response = self.get("/lab/probe")
        assert response.status == 200, response.text
        return json.loads(response.text)

    def product_for_sale(self):
        """(product page, product id) of the first product on the home page still in stock.

        Tests share a catalog and buy from it, so the first product may have sold out.
        """
        for slug in dict.fromkeys(re.findall(r'href="/p/([^"/]+)/"', self.get("/").text)):
            page = f"/p/{slug}/"
            form = re.search(r'action="/cart/add/(\d+)/"', self.get(page).text)
            if form:
                return page, int(form.group(1))
        raise AssertionError("no product on the home page is in stock")

    def cookie(self, name):
        """The value of cookie ``name`` as the browser would send it, or None."""
        return next((cookie.value for cookie in self.cookies if cookie.name == name), None)
