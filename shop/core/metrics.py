"""Prometheus metrics of a server: what its requests and sessions do, for the scraper only.

The rest of the shop reports with one call each (``metrics.device_check(...)``); this module is
the only one that knows the metric names. prometheus_client itself, not django-prometheus: the
shop's servers run several gunicorn workers, so either way the numbers must go through the
client's multiprocess mode (one mmap file per worker in PROMETHEUS_MULTIPROC_DIR, summed when
scraped), and django-prometheus adds per-request metrics we do not need (a second middleware, by
method, by template) and wraps the database and cache backends; the session story is ours anyway.

runstack sets PROMETHEUS_MULTIPROC_DIR to a folder per server (``RUN_DIR/metrics/serverN``),
emptied at every start of the server, and ``config/gunicorn.conf.py``'s ``child_exit`` marks a dead
worker. Without it (runserver, one process) the metrics stay in the process.

Labels take bounded values only: route names (never the path), status codes, profile names and
fixed words; never a user, an address or a session key. ``SHOP_METRICS=0`` switches it all off
(for the benchmark to measure what it costs).

``GET /metrics`` on the server's own address answers the Prometheus text format. It is not for the
public: nginx answers 404 for it on the public port, and a request that came through nginx (it
always sets X-Forwarded-For) gets 404 here too. The middleware answers it before the security
middleware, so hardened mode's HTTPS redirect and host checks never meet the scraper, which asks
over plain HTTP by the server's address.
"""

import functools
import os
import time

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.core.exceptions import MiddlewareNotUsed
from django.dispatch import receiver
from django.http import HttpResponse, HttpResponseNotFound
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

ENDPOINT = "/metrics"
# Session stores answer in well under a millisecond (Redis) to tens of ms (a busy SQLite).
STORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# A signed cookie must stay under 4096 bytes; server-side sessions are a few hundred.
SIZE_BUCKETS = (64, 128, 256, 512, 1024, 2048, 3072, 4096, 8192)
# Up to SHOP_SESSION_LOCK_WAIT (15 s), then 409.
LOCK_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)

REQUESTS = Counter(
    "shop_http_requests_total", "Requests answered, by route name and status.", ["view", "status"]
)
REQUEST_SECONDS = Histogram(
    "shop_http_request_duration_seconds", "Time to answer a request, by route name.", ["view"]
)
SESSION_STORE_SECONDS = Histogram(
    "shop_session_store_duration_seconds",
    "Session loads and saves, by profile and operation (load, save).",
    ["profile", "operation"],
    buckets=STORE_BUCKETS,
)
SESSION_BYTES = Histogram(
    "shop_session_size_bytes",
    "Encoded size of each saved session, by profile.",
    ["profile"],
    buckets=SIZE_BUCKETS,
)
STORE_ERRORS = Counter(
    "shop_session_store_errors_total",
    "Session loads and saves that failed, by profile and operation.",
    ["profile", "operation"],
)
LOCK_SECONDS = Histogram(
    "shop_session_lock_wait_seconds",
    "Time to take a session's lock, by the store it lives in.",
    ["store"],
    buckets=LOCK_BUCKETS,
)
LOCK_WAITS = Counter(
    "shop_session_lock_waits_total", "Requests that found their session locked and waited.", ["store"]
)
LOCK_TIMEOUTS = Counter(
    "shop_session_lock_timeouts_total",
    "Requests answered 409: their session's lock was not free in time.",
    ["store"],
)
REPLICA_WAITS = Counter(
    "shop_redis_replica_waits_total",
    "Session writes' WAIT for Redis replicas, by result (acknowledged, timeout, demoted, too_few_replicas).",
    ["result"],
)
FALLBACK_READS = Counter(
    "shop_session_fallback_reads_total",
    "Sessions looked for in an earlier profile's store during a switch, by whether found.",
    ["found"],
)
SESSIONS_MOVED = Counter(
    "shop_sessions_moved_total", "Sessions moved from an earlier profile's store into this one."
)
DEVICE_CHECKS = Counter(
    "shop_device_checks_total",
    "Signed-in requests checked against their Device record, by result (live, ended: signed out).",
    ["result"],
)
UNAVAILABLE = Counter(
    "shop_unavailable_responses_total", "503 answers, by the store error that caused them.", ["cause"]
)
LOGINS = Counter("shop_logins_total", "Login attempts, by result (success, failure).", ["result"])
LOCKOUTS = Counter("shop_login_lockouts_total", "Times the login throttle locked a username or address.")


# Requests --------------------------------------------------------------------------------
def request_metrics(get_response):
    """Count and time every request by its route name; answer ``GET /metrics`` for the scraper."""
    if not settings.SHOP_METRICS:
        raise MiddlewareNotUsed

    def middleware(request):
        if request.path_info == ENDPOINT:
            return exposition(request)
        started = time.perf_counter()
        response = get_response(request)
        match = request.resolver_match
        view = match.view_name if match else "unmatched"
        REQUESTS.labels(view, str(response.status_code)).inc()
        REQUEST_SECONDS.labels(view).observe(time.perf_counter() - started)
        return response

    return middleware


def exposition(request):
    """Every worker's metrics, summed (multiprocess mode), or this process's."""
    if "HTTP_X_FORWARDED_FOR" in request.META:  # through nginx: the public never gets them
        return HttpResponseNotFound("not found", content_type="text/plain")
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


# Sessions --------------------------------------------------------------------------------
class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, with every load and save of its engine's store timed, counted and sized."""

    def __init__(self, get_response):
        super().__init__(get_response)
        if settings.SHOP_METRICS:
            self.SessionStore = measured(self.SessionStore)


@functools.cache
def measured(store_class):
    """``store_class`` with ``MeasuredStore`` in front: still a subclass, so isinstance checks hold."""
    return type(store_class.__name__, (MeasuredStore, store_class), {})


class MeasuredStore:
    """Times load and save; counts their failures (a store that is down), not a key that exists."""

    def load(self):
        return self._measured("load", super().load)

    _encoded_bytes = None

    def encode(self, session_dict):
        encoded = super().encode(session_dict)
        self._encoded_bytes = len(encoded)
        return encoded

    def save(self, must_create=False):
        self._encoded_bytes = None
        self._measured("save", super().save, must_create)
        # The database and file engines encode to save; the others (Redis pickles the dict, a signed
        # cookie signs it itself) cost one more encode per save, never per read.
        if self._encoded_bytes is None:
            self.encode(getattr(self, "_session_cache", {}))
        SESSION_BYTES.labels(settings.SHOP_PROFILE).observe(self._encoded_bytes)

    def _measured(self, operation, call, *args):
        started = time.perf_counter()
        try:
            return call(*args)
        except (CreateError, UpdateError):  # a key taken or a session deleted meanwhile: no store failure
            raise
        except Exception:
            STORE_ERRORS.labels(settings.SHOP_PROFILE, operation).inc()
            raise
        finally:
            SESSION_STORE_SECONDS.labels(settings.SHOP_PROFILE, operation).observe(
                time.perf_counter() - started
            )


def measured_locks(store, kind):
    """The per-session lock ``store`` (session_lock.py), its waits and timeouts counted."""
    return MeasuredLocks(store, kind) if settings.SHOP_METRICS else store


class MeasuredLocks:
    """Tries the lock once without waiting, so that a wait is counted as such, then waits as asked."""

    def __init__(self, store, kind):
        self.store, self.kind = store, kind

    def acquire(self, name, ttl, wait):
        started = time.perf_counter()
        held = self.store.acquire(name, ttl, 0)
        if held is None:
            LOCK_WAITS.labels(self.kind).inc()
            held = self.store.acquire(name, ttl, wait)
            if held is None:
                LOCK_TIMEOUTS.labels(self.kind).inc()
        LOCK_SECONDS.labels(self.kind).observe(time.perf_counter() - started)
        return held

    def __getattr__(self, name):  # release, and the re-key marks: the store's own
        return getattr(self.store, name)


def replica_wait(result):
    """A session write's WAIT: ``acknowledged``, ``timeout`` (too few replicas in time), ``demoted`` or
    ``too_few_replicas`` (the primary refused the write)."""
    REPLICA_WAITS.labels(result).inc()


def fallback_read(found):
    FALLBACK_READS.labels("yes" if found else "no").inc()


def session_moved():
    SESSIONS_MOVED.inc()


def device_check(live):
    DEVICE_CHECKS.labels("live" if live else "ended").inc()


def unavailable(error):
    """A 503: the cause is the store error's class name, a bounded set (errors.store_down)."""
    UNAVAILABLE.labels(type(error).__name__).inc()


# Logins ----------------------------------------------------------------------------------
@receiver(user_logged_in, dispatch_uid="shop.core.metrics.login")
def login_succeeded(sender, **kwargs):
    LOGINS.labels("success").inc()


@receiver(user_login_failed, dispatch_uid="shop.core.metrics.login_failed")
def login_failed(sender, **kwargs):
    LOGINS.labels("failure").inc()


@receiver(user_locked_out, dispatch_uid="shop.core.metrics.lockout")
def lockout(sender, **kwargs):
    LOCKOUTS.inc()
