"""What a cookie session costs a server per request, in one process: encrypting against signing.

Under a cookie profile every request of a signed-in shopper opens its cookie (signed_cookies
verifies and decodes it; encrypted_cookies authenticates and decrypts it), and a request that
changes the session (add-to-cart) makes a new one. Measured here without servers or network, on a
typical signed-in session (the auth keys, a Device id, a cart of three lines) through each engine's
real SessionStore: ``load`` alone, and ``load`` then ``save``. The engines take turns in rounds so
that whatever else loads the machine falls on each alike, and each keeps its best round; the ratio
to the first cookie profile (signed_cookies) is what encryption costs against signing. The full
``manage.py bench`` runs it; on its own, in a second:

    python manage.py shell -c "from tools.bench import cookie_cost; print(cookie_cost.measure())"
"""

import time
from importlib import import_module

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

from shop.cart.cart import CART_SESSION_KEY
from shop.core.profiles import REGISTRY

ITERATIONS = 6000
ROUNDS = 20  # short rounds: a burst of load from elsewhere spoils one, and the best is kept
TYPICAL = {
    SESSION_KEY: "1042",
    BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
    HASH_SESSION_KEY: "5f0c3a9e" * 8,
    "_device_id": "q3ZkR8vN1xYt7LbW0cPa2s",
    CART_SESSION_KEY: {"17": 2, "23": 1, "31": 4},
}


def seconds_each(store_class, cookie, count, save):
    started = time.perf_counter()
    for _ in range(count):
        session = store_class(cookie)
        session.load()
        if save:
            session.save()
    return (time.perf_counter() - started) / count


def measure(iterations=ITERATIONS, rounds=ROUNDS):
    """{profile: {"cookie_bytes", "load_us", "load_save_us", "load_ratio", "load_save_ratio"}} per cookie
    profile, the ratios to the first one's."""
    stores = {p.name: import_module(p.engine).SessionStore for p in REGISTRY.values() if p.in_cookie}
    cookies = {}
    for name, store_class in stores.items():
        session = store_class()
        session.update(TYPICAL)
        session.save()
        cookies[name] = session.session_key
    best = {(name, save): float("inf") for name in stores for save in (False, True)}
    for _ in range(rounds):
        for (name, save), seconds in best.items():
            took = seconds_each(stores[name], cookies[name], max(iterations // rounds, 1), save)
            best[name, save] = min(seconds, took)
    first = next(iter(stores))
    return {
        name: {
            "cookie_bytes": len(cookies[name]),
            "load_us": round(best[name, False] * 1e6, 1),
            "load_save_us": round(best[name, True] * 1e6, 1),
            "load_ratio": round(best[name, False] / best[first, False], 2),
            "load_save_ratio": round(best[name, True] / best[first, True], 2),
        }
        for name in stores
    }
