"""``runstack --tls``: nginx terminates TLS with a self-signed certificate, the servers run hardened.

The stack test goes through the command a person runs (which builds ``Stack(tls=True)``), with
sticky_cookie balancing, whose hash must find the ``__Host-`` prefixed session cookie.
"""

import http.client
import json
import os
import re
import time
from types import SimpleNamespace

import pytest

from conftest import require_binary
from tools.client import ADDRESS, Browser, products_for_sale
from tools.stack.nginx import render_config, self_signed_certificate

from .test_config import assert_nginx_accepts
from .test_runstack import Runstack

PASSWORD = "a-long-password-for-tests-7"
READY = r"Shop running at (https://127\.0\.0\.1:(\d+)/)"


def test_tls_config_with_sticky_cookies_is_valid_for_nginx(tmp_path):
    nginx, _ = require_binary("nginx"), require_binary("openssl")
    certificate, key = self_signed_certificate(tmp_path / "tls")
    assert self_signed_certificate(tmp_path / "tls") == (certificate, key)  # made once, then kept
    assert key.stat().st_mode & 0o077 == 0
    servers = [SimpleNamespace(name="server1", address="127.0.0.1", port=40001, ready=True)]
    config = render_config(tmp_path, 8443, servers, "sticky_cookie", (certificate, key)).read_text()
    assert "listen 127.0.0.1:8443 ssl;" in config
    assert "~(?:^|;)\\s*__Host-sessionid=(?<session_value>[^;]*)" in config
    assert_nginx_accepts(nginx, tmp_path)


@pytest.fixture(scope="module")
def tls_stack(tmp_path_factory, stack_database):
    """``manage.py runstack --tls`` in a subprocess: (https URL, port, certificate file)."""
    require_binary("nginx")
    require_binary("openssl")
    run_dir = tmp_path_factory.mktemp("run-tls")
    options = ["--tls", "--balance", "sticky_cookie", "--servers", "3", "--workers", "1"]
    runstack = Runstack(run_dir, stack_database, *options)
    try:
        ready = runstack.wait_for(READY, timeout=90)
        certificate = run_dir / "tls" / "cert.pem"
        yield SimpleNamespace(url=ready[1], port=int(ready[2]), certificate=certificate, run_dir=run_dir)
    finally:
        runstack.process.terminate()
        runstack.finish(60)


def browser(stack):
    return Browser(stack.url, certificate=stack.certificate)


def set_cookies(response):
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("Set-Cookie")}


@pytest.mark.stack
def test_a_logged_in_visit_over_https_with_hardened_headers_and_cookies(tls_stack):
    shopper = browser(tls_stack)
    home = shopper.get("/")
    assert home.status_code == 200
    assert home.headers.get("Strict-Transport-Security") == "max-age=31536000; includeSubDomains; preload"
    assert "default-src 'self'" in home.headers.get("Content-Security-Policy")
    assert home.headers.get("X-Frame-Options") == "DENY"
    assert home.headers.get("Referrer-Policy") == "same-origin"
    assert home.headers.get("X-Content-Type-Options") == "nosniff"

    form = shopper.get("/accounts/signup/")
    csrf_cookie = set_cookies(form)["__Host-csrftoken"]
    username = f"tls-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    fields = {"username": username, "password1": PASSWORD, "password2": PASSWORD}
    signed_up = shopper.submit("/accounts/signup/", "/accounts/signup/", fields)
    assert signed_up.status_code == 302
    session_cookie = set_cookies(signed_up)["__Host-sessionid"]
    for cookie in (csrf_cookie, session_cookie):  # __Host-: Secure, Path=/, no Domain
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"secure", "httponly", "samesite"} <= attributes and "domain" not in attributes, cookie
        assert "Path=/" in cookie and "SameSite=Lax" in cookie

    probes = [shopper.probe() for _ in range(6)]
    assert {(probe["authenticated"], probe["username"]) for probe in probes} == {(True, username)}
    assert len({probe["server"] for probe in probes}) == 1  # sticky: the session's server, every time

    page, product_id = products_for_sale(shopper)[0]
    assert shopper.submit(page, f"/cart/add/{product_id}/", {"quantity": 1}).status_code == 302
    checkout = shopper.submit("/checkout/", "/checkout/", ADDRESS)
    assert checkout.status_code == 302 and re.fullmatch(r"/orders/\d+/", checkout.headers.get("Location"))
    assert shopper.get(checkout.headers.get("Location")).status_code == 200


@pytest.mark.stack
def test_sticky_cookie_balancing_hashes_the_host_prefixed_session_cookie(tls_stack):
    """Every session sticks to one server, and different sessions spread over the servers (with
    the cookie not found, every request would hash alike and land on one server)."""
    homes = []
    for _ in range(9):
        visitor = browser(tls_stack)
        page, product_id = products_for_sale(visitor)[0]
        assert visitor.submit(page, f"/cart/add/{product_id}/", {"quantity": 1}).status_code == 302
        servers = {visitor.probe()["server"] for _ in range(3)}
        assert len(servers) == 1
        homes.append(servers.pop())
    assert len(set(homes)) >= 2, homes


@pytest.mark.stack
def test_plain_http_on_the_tls_port_is_redirected_to_https(tls_stack):
    connection = http.client.HTTPConnection("127.0.0.1", tls_stack.port, timeout=10)
    try:
        connection.request("GET", "/cart/?x=1")
        response = connection.getresponse()
        assert response.status == 301
        assert response.getheader("Location") == f"https://127.0.0.1:{tls_stack.port}/cart/?x=1"
    finally:
        connection.close()


@pytest.mark.stack
def test_hardened_servers_serve_metrics_to_the_scraper_only(tls_stack):
    """The scraper asks each server over plain HTTP by its address: no HTTPS redirect, no host check
    stops it (shop/core/metrics.py answers before them); the public HTTPS port answers 404."""
    public = browser(tls_stack).get("/metrics")
    assert public.status_code == 404 and "shop_" not in public.text
    parts = json.loads((tls_stack.run_dir / "status.json").read_text())["parts"]
    for server in (part for part in parts if part["role"] == "server"):
        connection = http.client.HTTPConnection(server["address"], server["port"], timeout=10)
        try:
            connection.request("GET", "/metrics", headers={"Host": f"{server['address']}:{server['port']}"})
            response = connection.getresponse()
            assert response.status == 200
            assert b"shop_http_requests_total{" in response.read()
        finally:
            connection.close()
