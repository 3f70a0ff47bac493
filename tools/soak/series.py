"""The lab's four graphs for a soak, from every server's own /metrics, read once a second.

Not from Prometheus: the ``stop_start`` fault stops the whole stack, Prometheus with it, and
``runstack --metrics`` deletes its data when it starts and stops. So a thread of the soak reads each
server's ``GET /metrics`` (its workers summed, multiprocess mode) and keeps only what the panels of
``shop/lab/graphs.py`` need; a server that does not answer is a gap. The series are computed as
Prometheus would: a counter's rate is its increase from the server's reading before over the time
between (a counter lower than before restarted at zero with its server: all of it is the increase),
and a percentile is interpolated within the histogram's bucket it falls in.
"""

import bisect
import collections
import itertools
import math

from prometheus_client.parser import text_string_to_metric_families

from shop.lab.graphs import PANELS
from tools.stack.servers import get

EVERY = 1.0  # seconds between readings
TIMEOUT = 0.5  # per server: a server that does not answer must not hold up the others for long
WINDOW = 5.0  # seconds of histogram the latency percentile is computed over
QUANTILE = 0.95
REQUESTS, UNAVAILABLE, LOCKS, STORE = PANELS


# Reading -------------------------------------------------------------------------------------
def reading(text):
    """What the four panels need of one server's /metrics text: counters summed over the labels
    the panels do not show, the store's histogram as {operation: {le: count}}."""
    found = {"requests": 0, "unavailable": {}, "lock_waits": 0, "lock_timeouts": 0, "store": {}}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:  # the others (gauges, sums in seconds) are not read at all
            name, labels, count = sample.name, sample.labels, sample.value
            if name == "shop_http_requests_total":
                found["requests"] += int(count)
            elif name == "shop_unavailable_responses_total":
                _add(found["unavailable"], labels["cause"], int(count))
            elif name == "shop_session_lock_waits_total":
                found["lock_waits"] += int(count)
            elif name == "shop_session_lock_timeouts_total":
                found["lock_timeouts"] += int(count)
            elif name == "shop_session_store_duration_seconds_bucket":
                _add(found["store"].setdefault(labels["operation"], {}), labels["le"], int(count))
    return found


def _add(counts, key, value):
    counts[key] = counts.get(key, 0) + value


def sample(history, servers, stop, every=EVERY):
    """Every ``every`` seconds until ``stop`` is set, and once more then: every server's reading, into
    ``history.meta["metrics"]`` as {"every", "samples": [{"t", "servers": {name: reading}}]}.
    ``servers()`` is the stack's servers now (the stop_start fault makes a new stack)."""
    samples = []
    history.meta["metrics"] = {"every": every, "samples": samples}

    def read():
        t, readings = history.now(), {}
        for server in servers():
            answer = get(server.port, "/metrics", address=server.address, timeout=TIMEOUT)
            if answer and answer[0] == 200:
                readings[server.name] = reading(answer[1].decode())
        samples.append({"t": t, "servers": readings})
        return t

    while not stop.is_set():
        t = read()
        stop.wait(max(every - (history.now() - t), 0))
    read()  # the soak is over: its last seconds are in the graphs too


# Series ------------------------------------------------------------------------------------
def increase(before, after):
    """A counter's increase; one lower than before restarted at zero, as Prometheus's rate() reads it."""
    return after - before if after >= before else after


def increases(samples, counters):
    """Each server's increase of each counter since its reading before: (t, server, key, increase,
    seconds between). ``counters(reading)`` is a reading's {key: value}; a key new to a server
    (its first 503 of a cause, say) increased from zero."""
    last = {}
    for sample in samples:
        t = sample["t"]
        for server, found in sample["servers"].items():
            now = counters(found)
            if server in last:
                since, before = last[server]
                for key, value in now.items():
                    yield t, server, key, increase(before.get(key, 0), value), t - since
            last[server] = (t, now)


def rates(samples, counters, per_server=False):
    """{legend: [(t, per second)]}: each key's rate summed over the servers (Prometheus's
    ``sum by (key) (rate(...))``), or each server's own (the counters summed) with ``per_server``."""
    summed = collections.defaultdict(lambda: collections.defaultdict(float))
    for t, server, key, more, seconds in increases(samples, counters):
        summed[server if per_server else key][t] += more / seconds
    legends = sorted(summed) if per_server else summed  # the servers by name, the keys as they came
    return {legend: sorted(summed[legend].items()) for legend in legends}


def quantile(q, buckets):
    """Prometheus's histogram_quantile: ``buckets`` is {upper bound: cumulative count} (with +Inf);
    linear within the bucket the rank falls in, None without observations. In the +Inf bucket it is
    the largest finite bound."""
    bounds = sorted(buckets)
    counts = list(itertools.accumulate((buckets[b] for b in bounds), max))  # resets can unsort them
    if not counts or counts[-1] <= 0:
        return None
    rank = q * counts[-1]
    k = next(k for k, count in enumerate(counts) if count >= rank)
    if math.isinf(bounds[k]):
        return bounds[k - 1] if k else None
    lower, below = (bounds[k - 1], counts[k - 1]) if k else (0.0, 0)
    return lower + (bounds[k] - lower) * (rank - below) / (counts[k] - below)


def percentiles(samples, q=QUANTILE, window=WINDOW):
    """{operation: [(t, seconds)]}: the store's ``q`` percentile of the last ``window`` seconds at
    each sample, from every server's bucket increases in it."""

    def buckets(found):
        return {(op, float(le)): n for op, counts in found["store"].items() for le, n in counts.items()}

    added = collections.defaultdict(lambda: collections.defaultdict(float))  # t -> (op, le) -> count
    for t, _, key, more, _ in increases(samples, buckets):
        added[t][key] += more
    times, series = sorted(added), collections.defaultdict(list)
    for k, t in enumerate(times):
        recent = collections.defaultdict(dict)
        for then in times[bisect.bisect_right(times, t - window) : k + 1]:
            for (op, le), count in added[then].items():
                recent[op][le] = recent[op].get(le, 0) + count
        for op, counts in recent.items():
            if (value := quantile(q, counts)) is not None:
                series[op].append((t, value))
    return dict(series)


def series(samples):
    """The four panels of the lab's graphs with their series from ``samples``:
    [(Panel, {legend: [(t, value)]})]."""
    locks = {"waited": "lock_waits", "409": "lock_timeouts"}
    store = percentiles(samples)
    return [
        (REQUESTS, rates(samples, lambda found: {"all": found["requests"]}, per_server=True)),
        (UNAVAILABLE, rates(samples, lambda found: found["unavailable"])),
        (LOCKS, rates(samples, lambda found: {legend: found[field] for legend, field in locks.items()})),
        (STORE, {op: [(t, 1000 * seconds) for t, seconds in points] for op, points in store.items()}),
    ]
