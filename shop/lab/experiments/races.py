"""Scenario 7: two cart writes of one session at the same time: does the last write win?"""

import collections
import threading
import time

from shop.stack.client import CSRF_FIELD, TRANSPORT_ERRORS, ShopperError, served_by

from .outcome import Outcome, Part


def post_together(browser, product_ids, token):
    """POST add-to-cart for each product from its own thread, released at the same instant."""
    barrier = threading.Barrier(len(product_ids))
    answers = [None] * len(product_ids)

    def post(slot, product_id):
        barrier.wait(timeout=10)
        started = time.monotonic()
        try:
            response = browser.post(
                f"/cart/add/{product_id}/", data={"quantity": 1, "csrfmiddlewaretoken": token}
            )
            status, server = response.status_code, served_by(response)
        except TRANSPORT_ERRORS:
            status, server = 0, None
        answers[slot] = {
            "product": product_id,
            "status": status,
            "server": server,
            "started": started,
            "ended": time.monotonic(),
        }

    threads = [threading.Thread(target=post, args=slot) for slot in enumerate(product_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def trial(ctx, products, concurrent=2):
    """One shopper with one line in the cart adds ``concurrent`` other products at once."""
    first, *others = products[: concurrent + 1]
    shopper = ctx.shopper("race")
    shopper.add(first, 1)
    before = shopper.probe()
    token = CSRF_FIELD.search(shopper.browser.get(first[0]).text)
    if not token:
        raise ShopperError(f"no add-to-cart form on {first[0]}")
    answers = post_together(shopper.browser, [product_id for _, product_id in others], token[1])
    after = shopper.probe()
    overlapped = max(a.pop("started") for a in answers) < min(a.pop("ended") for a in answers)
    if before.cart_items != 1:
        result = "session lost before the race"
    elif any(a["status"] != 302 for a in answers):
        result = "a write was refused"
    elif after.cart_items == 1 + concurrent:
        result = "all kept"
    elif after.cart_items and after.cart_items > 1:
        result = "some lost (last write wins)"
    else:
        result = "session lost"
    return {
        "result": result,
        "overlapped": overlapped,
        "cart_before": before.cart_items,
        "cart_after": after.cart_items,
        "writes": answers,
    }


def concurrent_writes(ctx):
    """7. Add two products at the same instant from one session, several times: how many survive?"""
    products = ctx.products(3)
    trials = [trial(ctx, products) for _ in range(ctx.trials)]
    counts = collections.Counter(t["result"] for t in trials)
    overlapped = sum(t["overlapped"] for t in trials)
    line = f"{len(trials)} trials, writes overlapped in {overlapped}: " + ", ".join(
        f"{result} {count}" for result, count in sorted(counts.items())
    )
    note = (
        "Every engine loads the whole session when a request starts and saves the whole session when "
        "it ends, and Django does not lock sessions: of two overlapping writes the last one saved wins"
        + (
            ", for signed cookies the last Set-Cookie the browser stores."
            if ctx.profile == "signed_cookies"
            else "."
        )
    )
    if counts["some lost (last write wins)"]:
        note += f" Measured: {counts['some lost (last write wins)']} of {len(trials)} trials lost a product."
    if ctx.profile == "locmem":
        note += " Under locmem most trials lose the whole session to round robin before any race matters."
    note += " It takes one shopper sending two writes at once (a double click, two tabs) to lose one."
    part = Part("trials in which both concurrent cart writes survived", counts["all kept"], len(trials))
    return Outcome([part], line, note, {"counts": dict(counts), "trials": trials})
