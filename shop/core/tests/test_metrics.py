"""The server's Prometheus metrics, in this process (no PROMETHEUS_MULTIPROC_DIR): what a request,
a session, a lock and a login add, and who may read /metrics. That every worker of every server is
counted, and that nginx's public port refuses /metrics, is tools/tests/test_metrics.py."""

import pytest
from django.test import Client
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from shop.core import metrics
from shop.core.session_lock import STORES, lock_name


def value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0


def scrape(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


@pytest.mark.django_db
def test_requests_are_counted_by_route_name_and_status_never_by_path(client, product):
    detail = {"view": "catalog:product_detail"}
    found = value("shop_http_requests_total", status="200", **detail)
    missing = value("shop_http_requests_total", status="404", **detail)
    timed = value("shop_http_request_duration_seconds_count", **detail)
    unmatched = value("shop_http_requests_total", view="unmatched", status="404")

    assert client.get(f"/p/{product.slug}/").status_code == 200
    assert client.get("/p/no-such-product/").status_code == 404
    assert client.get("/no/such/page/at/all/").status_code == 404

    assert value("shop_http_requests_total", status="200", **detail) == found + 1
    assert value("shop_http_requests_total", status="404", **detail) == missing + 1
    assert value("shop_http_request_duration_seconds_count", **detail) == timed + 2
    assert value("shop_http_requests_total", view="unmatched", status="404") == unmatched + 1
    text = client.get("/metrics").content.decode()
    for path in (product.slug, "no-such-product", "no/such/page"):
        assert path not in text


def test_metrics_are_refused_to_a_request_that_came_through_the_balancer(client):
    """nginx sets X-Forwarded-For on every request it passes on; the scraper asks directly."""
    refused = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert refused.status_code == 404
    assert b"shop_" not in refused.content
    assert "shop_http_requests" in scrape(client)


def test_metric_names_follow_prometheus_conventions():
    """shop_ prefix, counters in _total, durations in _seconds and sizes in _bytes, and only labels
    whose values are bounded: nothing that could name a user, an address, a path or a session."""
    bounded = {"view", "status", "profile", "operation", "store", "result", "found", "cause"}
    collectors = [c for c in vars(metrics).values() if hasattr(c, "_type") and hasattr(c, "_labelnames")]
    assert len(collectors) >= 15
    for collector in collectors:
        name = collector._name
        assert name.startswith("shop_"), name
        assert set(collector._labelnames) <= bounded, name
        if collector._type == "histogram":
            assert name.endswith(("_seconds", "_bytes")), name
    names = {family.name for family in REGISTRY.collect() if family.name.startswith("shop_")}
    assert {"shop_http_requests", "shop_session_lock_waits", "shop_logins"} <= names  # exposed as ..._total


ENGINES = [
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.file",
    "shop.core.session_backends.cache",  # over the tests' LocMemCache
    "shop.core.session_backends.cached_db",
    "django.contrib.sessions.backends.signed_cookies",
]


@pytest.mark.django_db
@pytest.mark.parametrize("engine", ENGINES)
def test_session_loads_and_saves_are_timed_and_sized_by_profile(client, product, settings, engine, tmp_path):
    settings.SESSION_ENGINE, settings.SESSION_FILE_PATH = engine, str(tmp_path)
    profile = settings.SHOP_PROFILE
    saves = value("shop_session_store_duration_seconds_count", profile=profile, operation="save")
    loads = value("shop_session_store_duration_seconds_count", profile=profile, operation="load")
    sized = value("shop_session_size_bytes_count", profile=profile)
    size_sum = value("shop_session_size_bytes_sum", profile=profile)

    assert client.post(f"/cart/add/{product.pk}/", {"quantity": 2}).status_code == 302
    assert client.get("/cart/").status_code == 200

    assert value("shop_session_store_duration_seconds_count", profile=profile, operation="save") > saves
    assert value("shop_session_store_duration_seconds_count", profile=profile, operation="load") > loads
    assert value("shop_session_size_bytes_count", profile=profile) > sized
    assert 20 < value("shop_session_size_bytes_sum", profile=profile) - size_sum < 4096


@pytest.mark.django_db(transaction=True)
def test_a_lock_that_is_held_counts_a_wait_and_then_a_timeout(settings):
    store = metrics.measured_locks(STORES["database"](), "database")
    name = lock_name("a-session-cookie")
    waits = value("shop_session_lock_waits_total", store="database")
    timeouts = value("shop_session_lock_timeouts_total", store="database")
    taken = value("shop_session_lock_wait_seconds_count", store="database")

    held = store.acquire(name, ttl=10, wait=1)
    assert value("shop_session_lock_waits_total", store="database") == waits  # free: no wait
    assert store.acquire(name, ttl=10, wait=0.1) is None  # another request of that session
    store.release(held)

    assert value("shop_session_lock_waits_total", store="database") == waits + 1
    assert value("shop_session_lock_timeouts_total", store="database") == timeouts + 1
    assert value("shop_session_lock_wait_seconds_count", store="database") == taken + 2
    settings.SHOP_METRICS = False
    assert isinstance(metrics.measured_locks(STORES["database"](), "database"), STORES["database"])


@pytest.mark.django_db
def test_logins_and_device_checks_are_counted(user, product):
    failures = value("shop_logins_total", result="failure")
    successes = value("shop_logins_total", result="success")
    live = value("shop_device_checks_total", result="live")
    shopper = Client()
    wrong = {"username": user.username, "password": "not-the-password"}
    assert shopper.post("/accounts/login/", wrong).status_code == 200
    right = {"username": user.username, "password": "correct-horse-battery"}
    assert shopper.post("/accounts/login/", right).status_code == 302
    assert shopper.get("/accounts/orders/").status_code == 200  # asks who the user is

    assert value("shop_logins_total", result="failure") == failures + 1
    assert value("shop_logins_total", result="success") == successes + 1
    assert value("shop_device_checks_total", result="live") > live
