"""The soak's history: every request a shopper sent and every fault, as it happened.

One JSON document (``FORMAT``), the first part of ``results/soak-<time>.json``::

    {"format": "soak-history/1", "command": "python manage.py soak ...", "seed": 7,
     "started": "2025-01-01T10:00:00+00:00", "seconds": 71.2,   # how long the shoppers shopped
     "profile": {"name": "db", "shared": true},   # shared: every server reads every session
     "setup": {"servers": 3, "workers": 2, "hosts": false, ...}, "stacks": ["http://...", ...],
     "users": {"s1": "s1-3fa9c2", ...},            # each shopper's username
     "initial_stock": {"12": 40, ...},            # product id: stock before any shopper came
     "schedule": [{"gap": 6.1, "kind": "kill_server", "target": "server2", "hold": 2.5}, ...],
     "left_out": {"kill_postgres": "why this stack cannot take it", ...},
     "faults": [{"kind": "kill_server", "target": "server2", "start": 6.1, "end": 6.1,
                 "healed": 8.0, "ok": true, "note": "SIGKILL to server2 (pid 4242); ..."}, ...],
     "ops": [{"id": 1, "shopper": "s1", "browser": "s1", "action": "add", "method": "POST",
              "path": "/cart/add/12/", "start": 0.52, "end": 0.61, "status": 302,
              "location": "/cart/", "server": "server2", "retry_after": null,
              "product": 12, "quantity": 2}, ...],
     "metrics": {"every": 1.0, "samples": [{"t": 0.01, "servers": {"server1": {"requests": 14,
                 "unavailable": {"redis": 2}, "lock_waits": 3, "lock_timeouts": 0,
                 "store": {"load": {"0.0005": 9, ..., "+Inf": 12}, "save": {...}}}, ...}}, ...]},
     "incidents": [], "aborted": "why the soak stopped early (only then)"}

Times are seconds since the shoppers started (one monotonic clock); a fault is ``healed`` when
the stack was whole again (every server answers, every store runs). ``status`` null is no answer
at all (``error`` names the exception). Besides the fields every op has, an op carries what its
action is about (``product``, ``quantity``, ``token`` of a checkout form, ``target`` browser of
an ``end_device``) and what its answer showed: ``user`` (the signed-in username the page showed,
null for anonymous; only on answers that show it), ``lines`` (the cart page's {product id:
quantity}), ``orders`` (the order ids of the order list) and ``stock`` (a product page's stock).
A phone is a browser of its own (``s1-phone2``): a new one, without cookies, each time.

``metrics`` holds what each server's own ``/metrics`` said, read once a second (``series.py``): its
counters as they stood (requests, 503s by cause, session-lock waits and 409s, summed over the other
labels) and the session store's latency histogram by operation (cumulative counts by bucket bound);
a server that did not answer is missing from that sample. A history from before has none.

``outcome`` is the one reading of an answer that the shoppers and the checker share.
"""

import itertools
import json
import re
import threading
import time
from pathlib import Path

from tools.client import TRANSPORT_ERRORS, served_by

FORMAT = "soak-history/1"

DONE, REFUSED, UNKNOWN = "done", "refused", "unknown"
# The Location that says the shop did what a form asked (a 302 there); anything else it answered
# (a 4xx, a page with the form's errors, a redirect to log in) changed nothing.
ACKNOWLEDGED_AT = {
    "add": "/cart/",
    "set": "/cart/",
    "remove": "/cart/",
    "checkout": r"/orders/\d+/",
    "signup": r"(?!/accounts/login/).*",
    "login": r"(?!/accounts/login/).*",
    "logout": ".*",
    "end_device": "/accounts/sessions/",
}
ORDER_LOCATION = re.compile(r"/orders/(\d+)/")


def outcome(op):
    """DONE (a form acknowledged, a page read), REFUSED (an answer that changed nothing) or UNKNOWN
    (no answer, or a 5xx: the change may or may not have happened)."""
    status = op["status"]
    if status is None or status >= 500:
        return UNKNOWN
    if op["method"] == "GET":
        return DONE if status == 200 else REFUSED
    acknowledged = status == 302 and re.fullmatch(ACKNOWLEDGED_AT[op["action"]], op.get("location") or "")
    return DONE if acknowledged else REFUSED


def unavailable(op):
    """No answer, or the shop could not serve it (a 5xx)."""
    return op["status"] is None or op["status"] >= 500


class History:
    """Thread-safe: every shopper thread records into one history."""

    def __init__(self, **meta):
        self.meta = meta
        self.ops, self.faults = [], []
        self._started = time.monotonic()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def now(self):
        return round(time.monotonic() - self._started, 3)

    def request(self, browser, shopper, name, action, method, path, data=None, **facts):
        """Send one request with ``browser`` (whose name in the history is ``name``) and record it;
        returns (op, response), response None when there was no answer."""
        op = {"id": None, "shopper": shopper, "browser": name, "action": action, "method": method}
        op |= {"path": path, **facts, "start": self.now()}
        try:
            response = browser.request(method, path, data=data)
        except TRANSPORT_ERRORS as error:
            response = None
            op |= {"end": self.now(), "status": None, "error": type(error).__name__}
        else:
            op |= {
                "end": self.now(),
                "status": response.status_code,
                "server": served_by(response),
                "location": response.headers.get("Location"),
                "retry_after": response.headers.get("Retry-After"),
            }
        with self._lock:
            op["id"] = next(self._ids)
            self.ops.append(op)
        return op, response

    def fault(self, kind, target):
        """A fault's record, started now; the caller sets ``end`` (and ``healed``, ``ok``, ``note``)."""
        fault = {"kind": kind, "target": target, "start": self.now(), "end": None, "healed": None}
        fault |= {"ok": True, "note": ""}
        with self._lock:
            self.faults.append(fault)
        return fault

    def as_json(self):
        with self._lock:
            ops = sorted(self.ops, key=lambda op: op["id"])
            return {
                "format": FORMAT,
                **self.meta,
                "seconds": self.now(),
                "faults": list(self.faults),
                "ops": ops,
            }


def load(path):
    """A soak's JSON as ``report.write`` wrote it: the history, with its database snapshot."""
    document = json.loads(Path(path).read_text())
    if document.get("format") != FORMAT or "database" not in document:
        raise ValueError(f"{path} is not a soak's JSON ({FORMAT} with its database snapshot)")
    return document
