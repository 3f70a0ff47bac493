"""Scenario 7: twenty cart writes of one session at the same time: does the last write win?"""

import collections
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from tools.client import TRANSPORT_ERRORS, served_by

from .outcome import Outcome, Part, scenario

# A shopper who opens products in tabs and adds each at once; the figure.
CONCURRENT = 20
# Longer than nginx's 35 s upstream timeout: a waiting write is an answer to count, not a timeout.
REQUEST_TIMEOUT = 40


def post_together(browser, product_ids, token):
    """POST add-to-cart for each product from its own thread, released at the same instant; for each
    an (answer, (sent, answered)) pair."""
    barrier = threading.Barrier(len(product_ids))

    def post(product_id):
        barrier.wait(timeout=10)
        started = time.monotonic()
        try:
            response = browser.post(
                f"/cart/add/{product_id}/",
                data={"quantity": 1, "csrfmiddlewaretoken": token},
                timeout=REQUEST_TIMEOUT,
            )
            status, server = response.status_code, served_by(response)
        except TRANSPORT_ERRORS:
            status, server = 0, None
        return {"product": product_id, "status": status, "server": server}, (started, time.monotonic())

    with ThreadPoolExecutor(len(product_ids)) as pool:
        return list(pool.map(post, product_ids))


def trial(ctx, products):
    """A new shopper signs in (an empty cart) and adds every one of ``products`` at once."""
    shopper = ctx.shopper("race").sign_up()
    before = shopper.probe()
    token = shopper.browser.form_token(products[0][0])
    product_ids = [product_id for _, product_id in products]
    answers, times = zip(*post_together(shopper.browser, product_ids, token), strict=True)
    after = shopper.probe()
    started, ended = zip(*times, strict=True)
    kept = after.cart_items or 0  # one unit of each product: units are lines
    acknowledged = sum(a["status"] == 302 for a in answers)
    refused = sum(a["status"] == 409 for a in answers)
    if not (before.authenticated and before.cart_items == 0):
        result = "session lost before the race"
    elif acknowledged + refused < len(answers):
        result = "a write failed"
    elif kept == acknowledged == len(products):
        result = "all kept"
    elif kept == acknowledged:
        result = "refused (409), none lost"
    elif kept:
        result = "some lost (last write wins)"
    else:
        result = "session lost"
    return {
        "result": result,
        "overlapped": max(started) < min(ended),
        "seconds": round(max(ended) - min(started), 3),
        "statuses": dict(collections.Counter(a["status"] for a in answers)),
        "servers": sorted({a["server"] or "none" for a in answers}),
        "cart_before": before.cart_items,
        "cart_after": after.cart_items,
        "kept": kept,
        "acknowledged": acknowledged,
        "writes": list(answers),
    }


@scenario(7, "race", "concurrent cart", "Twenty cart writes of one session at once: are updates lost?")
def concurrent_writes(ctx):
    products = ctx.products(CONCURRENT, min_stock=5)
    trials = [trial(ctx, products) for _ in range(ctx.trials)]
    counts = collections.Counter(t["result"] for t in trials)
    overlapped = sum(t["overlapped"] for t in trials)
    kept = [t["kept"] for t in trials]
    line = (
        f"{len(trials)} trials of {CONCURRENT} writes at once, overlapped in {overlapped}, "
        f"lines kept {kept}, {max(t['seconds'] for t in trials)} s at most: "
        + ", ".join(f"{result} {count}" for result, count in sorted(counts.items()))
    )
    note = (
        "Every engine loads the whole session when a request starts and saves the whole session when it "
        "ends, so of overlapping writes the last one saved would win. "
    )
    if ctx.facts.in_cookie:
        note += (
            f"Under {ctx.facts.store} no server holds the session: each request carries its own copy in "
            "the cookie, and the browser keeps whichever Set-Cookie arrives last, so unfenced the other "
            "writes are lost (SHOP_SESSION_LOCKS=0 shows it). The shop fences each cookie in the "
            "database: the first write replaces it, and the others, sent with the replaced cookie, are "
            "refused with a 409 and change nothing (a browser sends them again with the new cookie). "
            "Nothing acknowledged is lost; the price is a database row per write in flight."
        )
    elif not ctx.facts.across_servers:
        note += (
            "Under locmem the session is one worker's memory, so there is nothing shared to lock; round "
            "robin loses the whole session before any race matters."
        )
    else:
        note += (
            "The shop holds a per-session lock from before the session is read until after it is saved "
            "(in Redis for cache and cached_db, in the database for db and file), so the writes take "
            "turns, on every server, and each one sees the one before."
        )
    every = f"trials in which all {CONCURRENT} concurrent cart writes survived"
    parts = [
        Part(every, counts["all kept"], len(trials)),
        Part(
            "acknowledged cart writes that survived, over every trial",
            sum(t["kept"] for t in trials if t["kept"] <= t["acknowledged"]),
            sum(t["acknowledged"] for t in trials),
        ),
    ]
    return Outcome(parts, line, note, {"counts": dict(counts), "trials": trials})
