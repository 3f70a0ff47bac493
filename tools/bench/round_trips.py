"""Store round trips per request, by engine: the SQL queries and Redis commands a page costs.

These counts do not depend on the machine, and with the store across a network every one of
them is a round trip: at 0.5 ms or 2 ms each, they decide a page's latency more than the CPU
does. Counted in a ``manage.py shell`` with the stage's own settings and stores (the stack's
environment), through Django's test client: one logged-in shopper with a cart, each page once
after a warm-up; SQL from Django's query log, Redis commands from ``INFO commandstats``.
"""

LATENCIES_MS = (0.5, 2.0)
CELLS = ("probe", "list", "detail", "add", "cart")
# Run by ``Stack.python``: prints {cell: {"sql": n, "redis": m}}.
SCRIPT = """
import json
import secrets
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from shop.catalog.models import Product

uses_redis = "django_redis" in settings.CACHES["default"]["BACKEND"]
redis = cache.client.get_client(write=True) if uses_redis else None

def redis_calls():
    if redis is None:
        return 0
    return sum(stat["calls"] for name, stat in redis.info("commandstats").items() if name != "cmdstat_info")

products = list(Product.objects.active().filter(stock__gte=5).order_by("id")[:4])
user = get_user_model().objects.create_user("round-trips-" + secrets.token_hex(4))
client = Client(HTTP_HOST="localhost")
client.force_login(user)
for product in products[:3]:
    client.post(f"/cart/add/{product.pk}/", {"quantity": 1})
pages = {"probe": ("get", "/lab/probe"), "list": ("get", "/"), "detail": ("get", f"/p/{products[0].slug}/"),
         "add": ("post", f"/cart/add/{products[3].pk}/"), "cart": ("get", "/cart/")}
counts = {}
for cell, (method, path) in pages.items():
    getattr(client, method)(path, {"quantity": 1} if method == "post" else None)
    before = redis_calls()
    with CaptureQueriesContext(connection) as queries:
        getattr(client, method)(path, {"quantity": 1} if method == "post" else None)
    counts[cell] = {"sql": len(queries), "redis": redis_calls() - before}
print(json.dumps(counts))
"""


def added_latency(counts):
    """Milliseconds the round trips add to one request, at each of LATENCIES_MS per round trip."""
    trips = counts["sql"] + counts["redis"]
    return [round(trips * latency, 1) for latency in LATENCIES_MS]
