"""The soak's verdicts: pure functions of a history (``history.py``) and the database afterwards.

The snapshot of the database is ``{"orders": [{"id", "user", "token", "items": {product id:
units}}], "stock": {product id: units}}`` (``database.py`` takes it). Each verdict says what it
counted, whether that passes (None: reported, nothing to pass), and the evidence. A verdict about
data (``data=True``: carts, logins, orders, stock) failing makes the soak exit 1; the answers and
the unavailability are reported beside them.
"""

import collections
import re
from dataclasses import asdict, dataclass, field

from .availability import per_fault
from .carts import Replay, token_key
from .history import DONE, ORDER_LOCATION, UNKNOWN, outcome, unavailable

CART_CHANGES = ("add", "set", "remove")


@dataclass
class Verdict:
    key: str
    title: str
    passed: bool | None  # None: a measurement, not a verdict
    line: str
    data: bool = True
    evidence: list = field(default_factory=list)

    @property
    def mark(self):
        return {True: "ok", False: "FAIL", None: "--"}[self.passed]

    def as_json(self):
        return asdict(self) | {"mark": self.mark}


def orders_by_token(snapshot):
    return {token_key(order["token"]): order for order in snapshot["orders"] if order["token"]}


def check(history, snapshot):
    """Every verdict, in the order the report shows them."""
    replay = Replay(history, orders_by_token(snapshot))
    return [
        lost_changes(history, replay),
        logouts(history, replay),
        missing_orders(history, snapshot),
        duplicate_orders(history, snapshot),
        unconfirmed_orders(history, snapshot),
        stock(history, snapshot),
        server_errors(history),
        availability(history),
    ]


def failed(verdicts):
    """The verdicts about data that failed: the soak exits 1 when there is one."""
    return [v for v in verdicts if v.data and v.passed is False]


def acknowledged(history, actions):
    return [op for op in history["ops"] if op["action"] in actions and outcome(op) == DONE]


def lost_changes(history, replay):
    lost = replay.lost_changes()
    with_logout = sum(loss["logged_out"] for loss in lost)
    acked = len(acknowledged(history, CART_CHANGES))
    line = f"{len(lost)} of {acked} acknowledged cart changes lost"
    line += f" ({with_logout} with a logout)" if with_logout else ""
    if replay.unexplained:
        line += f"; {len(replay.unexplained)} reads showed a line no request could have made"
    evidence = lost + [loss | {"unexplained": True} for loss in replay.unexplained]
    return Verdict("lost_changes", "acknowledged cart changes lost", not evidence, line, evidence=evidence)


def logouts(history, replay):
    shared = history["profile"].get("shared", True)
    count = len(replay.logouts)
    line = f"{count} unexpected logouts"
    if replay.strangers:
        line += f"; {len(replay.strangers)} answers showed another shopper signed in"
    passed = not (count or replay.strangers)
    if not shared and not replay.strangers:
        passed = None
        line += " (expected: this stack does not share sessions between its servers)"
    return Verdict("logouts", "unexpected logouts", passed, line, evidence=replay.logouts + replay.strangers)


def confirmed_checkouts(history):
    """Acknowledged checkout answers: (op, the order id its Location named)."""
    return [
        (op, int(ORDER_LOCATION.fullmatch(op["location"])[1])) for op in acknowledged(history, ("checkout",))
    ]


def checkout_attempts(history):
    """{checkout form's token: every POST of that form}."""
    attempts = collections.defaultdict(list)
    for op in history["ops"]:
        if op["action"] == "checkout":
            attempts[token_key(op.get("token"))].append(op)
    return attempts


def missing_orders(history, snapshot):
    by_id = {order["id"]: order for order in snapshot["orders"]}
    users = history.get("users", {})
    evidence = []
    for op, order_id in confirmed_checkouts(history):
        order = by_id.get(order_id)
        if order is None:
            why = "not in the database"
        elif token_key(order["token"]) != token_key(op.get("token")):
            why = "in the database for another checkout form"
        elif order["user"] != users.get(op["shopper"]):
            why = f"in the database for {order['user']}"
        else:
            continue
        evidence.append(
            {"op": op["id"], "shopper": op["shopper"], "order": order_id, "at": op["end"], "why": why}
        )
    confirmed = {order_id for _, order_id in confirmed_checkouts(history)}
    line = f"{len(evidence)} of {len(confirmed)} confirmed orders missing"
    return Verdict("missing_orders", "acknowledged orders missing", not evidence, line, evidence=evidence)


def duplicate_orders(history, snapshot):
    evidence = []
    tokens = collections.Counter(token_key(o["token"]) for o in snapshot["orders"] if o["token"])
    for token, count in tokens.items():
        if count > 1:
            evidence.append({"token": token, "orders": count, "why": "orders in the database for one form"})
    named = collections.defaultdict(set)
    for op, order_id in confirmed_checkouts(history):
        named[token_key(op.get("token"))].add(order_id)
    for token, orders in named.items():
        if len(orders) > 1:
            evidence.append({"token": token, "orders": sorted(orders), "why": "answers named other orders"})
    resubmitted = sum(len(sent) > 1 for sent in checkout_attempts(history).values())
    line = f"{len(evidence)} checkout forms made more than one order ({resubmitted} forms were sent again)"
    return Verdict(
        "duplicate_orders",
        "orders for one checkout form more than once",
        not evidence,
        line,
        evidence=evidence,
    )


def unconfirmed_orders(history, snapshot):
    """Orders whose shopper never saw a confirmation (every answer to the form was lost), and
    whether the shopper's order list showed them afterwards. Fails for an order no form of the
    history made, and for one a later order list of its shopper did not show."""
    confirmed = {token_key(op.get("token")) for op, _ in confirmed_checkouts(history)}
    attempts = checkout_attempts(history)
    lists = [op for op in history["ops"] if "orders" in op and outcome(op) == DONE]
    evidence = []
    for order in snapshot["orders"]:
        key = token_key(order["token"])
        if key in confirmed:
            continue
        tried = attempts.get(key)
        if not tried:
            evidence.append(
                {"order": order["id"], "user": order["user"], "why": "no checkout form of the soak made it"}
            )
            continue
        last = max(op["end"] for op in tried)
        later = [op for op in lists if op["shopper"] == tried[0]["shopper"] and op["start"] >= last]
        shown = any(order["id"] in op["orders"] for op in later)
        evidence.append(
            {
                "order": order["id"],
                "shopper": tried[0]["shopper"],
                "at": tried[0]["start"],
                "attempts": len(tried),
                "shown": shown,
                "looked": bool(later),
            }
        )
    hidden = [e for e in evidence if not e.get("shown", False) and e.get("looked", True)]
    shown = sum(e.get("shown", False) for e in evidence)
    line = f"{len(evidence)} orders never confirmed to their shopper, {shown} of them"
    line += " shown in their order list later"
    return Verdict(
        "unconfirmed_orders", "orders the shopper never saw confirmed", not hidden, line, evidence=evidence
    )


def stock(history, snapshot):
    ordered = collections.Counter()
    for order in snapshot["orders"]:
        for product, units in order["items"].items():
            ordered[str(product)] += units
    final = {str(product): units for product, units in snapshot["stock"].items()}
    evidence = []
    for product, initial in history["initial_stock"].items():
        now = final.get(product)
        if now is None or now < 0 or initial != now + ordered[product]:
            evidence.append(
                {"product": product, "initial": initial, "final": now, "ordered": ordered[product]}
            )
    seen_negative = [op["id"] for op in history["ops"] if op.get("stock") is not None and op["stock"] < 0]
    evidence += [{"read": op_id, "why": "a page showed negative stock"} for op_id in seen_negative]
    units = sum(ordered.values())
    line = (
        f"{len(history['initial_stock'])} products: initial stock = final stock + {units} units in orders"
        + ("" if not evidence else f" fails for {len(evidence)}")
    )
    return Verdict("stock", "stock conserved, never negative", not evidence, line, evidence=evidence)


def path_pattern(path):
    return re.sub(r"/\d+/", "/N/", path.split("?")[0])


# A SIGKILL takes a server's processes down over a few milliseconds, and the connections its
# listening socket accepted meanwhile are reset too: a POST sent just after the signal is cut off.
DYING = 1.0  # seconds


def cut_by_a_kill(op, kills):
    """A POST in flight on a server that a fault SIGKILLed: nginx answers 502 and must not send it
    to another server, since the dead one may have done it (DESIGN.md: no double orders)."""
    cut = op["status"] == 502 and op["method"] == "POST"
    return cut and any(op["start"] <= t + DYING and op["end"] >= t for t in kills)


def server_errors(history):
    """Answers >= 500 other than a 503 with Retry-After (the shop's "try again"), by path. A 502 to
    a POST cut off by a server's SIGKILL is counted apart: no stack could answer it otherwise."""
    kills = [fault["start"] for fault in history["faults"] if fault["kind"] == "kill_server"]
    answered = [op for op in history["ops"] if op["status"] and op["status"] >= 500]
    errors = [op for op in answered if not (op["status"] == 503 and op.get("retry_after"))]
    cut = [op for op in errors if cut_by_a_kill(op, kills)]
    errors = [op for op in errors if op not in cut]
    by_path = collections.Counter(
        f"{op['method']} {path_pattern(op['path'])} {op['status']}" for op in errors
    )
    line = ", ".join(f"{key}: {count}" for key, count in sorted(by_path.items())) or "none"
    if cut:
        line += f" (and {len(cut)} POSTs in flight on a server that was SIGKILLed: 502, not sent elsewhere)"
    evidence = [
        {
            "op": op["id"],
            "at": op["start"],
            "status": op["status"],
            "method": op["method"],
            "path": op["path"],
        }
        | ({"cut_by_a_kill": True} if op in cut else {})
        for op in errors + cut
    ]
    title = "answers >= 500 but 503 with Retry-After"
    return Verdict("server_errors", title, not errors, line, data=False, evidence=evidence)


def availability(history):
    ops = history["ops"]
    down = sum(map(unavailable, ops))
    faults = per_fault(history)
    worst = max(faults, key=lambda f: f["longest_unavailable"], default=None)
    line = f"{down} of {len(ops)} requests unavailable ({down / len(ops):.1%})" if ops else "no requests"
    if worst:
        line += f"; longest unavailable window {worst['longest_unavailable']:.1f} s ({worst['kind']})"
    return Verdict("availability", "unavailable requests, per fault", None, line, data=False, evidence=faults)


def totals(history, snapshot):
    """The numbers a run is summed up by (docs/SOAK.md's table)."""
    ops = history["ops"]
    orders = confirmed_checkouts(history)
    return {
        "requests": len(ops),
        "acknowledged_adds": len(acknowledged(history, ("add",))),
        "acknowledged_changes": len(acknowledged(history, CART_CHANGES)),
        "unknown_changes": sum(op["action"] in CART_CHANGES and outcome(op) == UNKNOWN for op in ops),
        "orders_acknowledged": len({order_id for _, order_id in orders}),
        "orders_in_db": len(snapshot["orders"]),
        "unavailable": sum(map(unavailable, ops)),
        "faults": len(history["faults"]),
    }
