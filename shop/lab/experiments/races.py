"""Scenario 7: two cart writes of one session at the same time: does the last write win?"""

import threading
import time

from shop.stack.client import CSRF_FIELD

from .outcome import LabError, Outcome, Part
from .shopper import TRANSPORT_ERRORS, served_by


def post_together(shopper, products, token):
    """POST add-to-cart for each product from its own thread, released at the same instant."""
    barrier = threading.Barrier(len(products))
    answers = [None] * len(products)

    def post(slot, product_id):
        barrier.wait(timeout=10)
        started = time.monotonic()
        try:
            response = shopper.browser.request(
                f"/cart/add/{product_id}/", {"quantity": 1, "csrfmiddlewaretoken": token}
            )
            status, server = response.status, served_by(response)
        except TRANSPORT_ERRORS:
            status, server = 0, None
        answers[slot] = {
            "product": product_id,
            "status": status,
            "server": server,
            "started": started,
            "ended": time.monotonic(),
        }

    threads = [threading.Thread(target=post, args=(i, pid)) for i, (_, pid) in enumerate(products)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def trial(ctx, stack):
    first, second, third = ctx.products(stack)[:3]
    shopper = ctx.shopper(stack, "race")
    shopper.add(first, 1)
    before = shopper.probe()
    token = CSRF_FIELD.search(shopper.browser.get(second[0]).text)
    if not token:
        raise LabError(f"no add-to-cart form on {second[0]}")
    answers = post_together(shopper, [second, third], token.group(1))
    after = shopper.probe()
    overlapped = max(a["started"] for a in answers) < min(a["ended"] for a in answers)
    if before.cart_items != 1:
        result = "session lost before the race"
    elif any(a["status"] != 302 for a in answers):
        result = "a write was refused"
    elif after.cart_items == 3:
        result = "both kept"
    elif after.cart_items == 2:
        result = "one lost (last write wins)"
    else:
        result = "session lost"
    for answer in answers:
        answer.pop("started"), answer.pop("ended")
    return {
        "result": result,
        "overlapped": overlapped,
        "cart_before": before.cart_items,
        "cart_after": after.cart_items,
        "writes": answers,
    }


def concurrent_writes(ctx):
    """7. Add two products at the same instant from one session, several times: how many survive?"""
    stack = ctx.stack
    trials = [trial(ctx, stack) for _ in range(ctx.trials)]
    counts = {}
    for t in trials:
        counts[t["result"]] = counts.get(t["result"], 0) + 1
    both = counts.get("both kept", 0)
    lost = counts.get("one lost (last write wins)", 0)
    overlapped = sum(t["overlapped"] for t in trials)
    line = f"{len(trials)} trials, writes overlapped in {overlapped}: " + ", ".join(
        f"{result} {count}" for result, count in sorted(counts.items())
    )
    note = (
        "Every engine loads the whole session when a request starts and saves the whole session when "
        "it ends, and Django does not lock sessions: of two overlapping writes the last one saved wins"
    )
    note += (
        ", for signed cookies the last Set-Cookie the browser stores."
        if ctx.profile == "signed_cookies"
        else "."
    )
    if lost:
        note += f" Measured: {lost} of {len(trials)} trials lost one of the two products."
    if ctx.profile == "locmem":
        note += " Under locmem most trials lose the whole session to round robin before any race matters."
    note += " It takes one shopper sending two writes at once (a double click, two tabs) to lose one."
    return Outcome(
        [Part("trials in which both concurrent cart writes survived", both, len(trials))],
        line,
        note,
        {"counts": counts, "trials": trials},
    )
