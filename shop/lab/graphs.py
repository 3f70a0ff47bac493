"""The lab's graphs: the stack's last minutes from Prometheus's HTTP API, drawn as inline SVG.

``runstack --metrics`` tells every server where Prometheus listens (SHOP_PROMETHEUS_URL). A server
asks it with the standard library and a short timeout (a server never imports the tools, and the
lab page must not hang on a Prometheus that is gone), and draws each answer as an SVG polyline
chart: no CDN, no JavaScript. Without Prometheus the page says so instead.
"""

import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from html import escape

from django.conf import settings
from django.utils.safestring import mark_safe

WINDOW = 600  # seconds of history shown
STEP = 5  # seconds between points
TIMEOUT = 1.0  # per query; a lab page waits at most this long for a Prometheus that does not answer
RATE = "[15s]"  # scrapes every second: enough samples for rate() through a missed scrape or two
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
WIDTH, PLOT_HEIGHT, LEFT, TOP, LEGEND_ROW = 560, 140, 48, 10, 18


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str
    queries: tuple  # (legend, PromQL): the legend names a label of each series in {braces}, or is fixed


PANELS = (
    Panel(
        "Requests per second, by server",
        "req/s",
        (("{server}", f"sum by (server) (rate(shop_http_requests_total{RATE}))"),),
    ),
    Panel(
        "503 answers per second, by cause",
        "503/s",
        (("{cause}", f"sum by (cause) (rate(shop_unavailable_responses_total{RATE}))"),),
    ),
    Panel(
        "Session lock: requests that waited, and 409s, per second",
        "1/s",
        (
            ("waited", f"sum(rate(shop_session_lock_waits_total{RATE}))"),
            ("409", f"sum(rate(shop_session_lock_timeouts_total{RATE}))"),
        ),
    ),
    Panel(
        "Session store latency, 95th percentile, by operation",
        "ms",
        (
            (
                "{operation}",
                "1000 * histogram_quantile(0.95, sum by (le, operation) "
                f"(rate(shop_session_store_duration_seconds_bucket{RATE})))",
            ),
        ),
    ),
)


class Unavailable(Exception):
    """Prometheus is not configured or did not answer; the message says which, for the page."""


def query_range(base_url, query, start, end, step=STEP, timeout=TIMEOUT):
    """Prometheus's answer to a range query: [(labels, [(t, value), ...]), ...]."""
    parameters = urllib.parse.urlencode({"query": query, "start": start, "end": end, "step": step})
    url = f"{base_url.rstrip('/')}/api/v1/query_range?{parameters}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (our own setting)
            answer = json.load(response)
    except (OSError, ValueError) as error:  # refused, timed out, HTTP error, not JSON
        raise Unavailable(f"Prometheus at {base_url} did not answer ({error})") from None
    return [
        (series["metric"], [(float(t), float(v)) for t, v in series["values"]])
        for series in answer.get("data", {}).get("result", [])
    ]


def panels(base_url=None, now=None):
    """Every panel drawn from the last ``WINDOW`` seconds: [{"title", "svg"}]; Unavailable without
    Prometheus."""
    base_url = base_url if base_url is not None else settings.SHOP_PROMETHEUS_URL
    if not base_url:
        raise Unavailable(
            "Prometheus is not running: start the stack with `runstack --metrics` (make run METRICS=1) "
            "to see the servers' requests, 503s, lock waits and session-store latency here."
        )
    end = now or time.time()
    start = end - WINDOW
    drawn = []
    for panel in PANELS:
        series = []
        for legend, query in panel.queries:
            for labels, points in query_range(base_url, query, start, end):
                series.append((legend.format_map(_Missing(labels)), points))
        drawn.append({"title": panel.title, "svg": render_svg(panel.title, panel.unit, series, start, end)})
    return drawn


class _Missing(dict):
    def __missing__(self, key):
        return "-"


def nice_ceiling(value):
    """The smallest of 1, 2, 5 times a power of ten that is at least ``value`` (axis maximum)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def _number(value):
    return f"{value:g}"


@dataclass(frozen=True)
class Frame:
    """Where a chart draws: the SVG's width and the plot's left and right edges (the values' labels
    stand left of it). The soak's report gives its timeline's, so that the two share one time axis."""

    width: int = WIDTH
    left: int = LEFT
    right: int = WIDTH - 10


def minutes_ago(start, end):
    """The lab's time axis: how long ago, at both ends and in the middle."""
    minutes = (end - start) / 60
    return [(start, f"-{minutes:g} min"), ((start + end) / 2, f"-{minutes / 2:g} min"), (end, "now")]


def render_svg(title, unit, series, start, end, step=STEP, frame=Frame(), ticks=None, bands=()):
    """An SVG line chart of ``series`` ([(legend, [(t, value), ...])]) over [start, end]. A gap of
    more than two steps (no sample: Prometheus could not scrape) breaks the line. ``ticks`` label
    the time axis ([(t, label)]; default ``minutes_ago``); ``bands`` shade stretches of time behind
    the lines ([(from, to, colour, title)])."""
    finite = [(t, v) for _, points in series for t, v in points if math.isfinite(v)]
    top = nice_ceiling(max((v for _, v in finite), default=0))
    bottom = TOP + PLOT_HEIGHT
    left, right = frame.left, frame.right

    def x(t):
        return left + (t - start) / (end - start) * (right - left)

    def y(v):
        return bottom - v / top * PLOT_HEIGHT

    rows = math.ceil(len(series) / 4) if series else 1
    height = bottom + 24 + rows * LEGEND_ROW
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" viewBox="0 0 {frame.width} {height}" '
        f'width="{frame.width}" height="{height}" role="img" aria-label="{escape(title)}">',
    ]
    for since, until, colour, band_title in bands:
        parts.append(
            f'<rect x="{x(since):.1f}" y="{TOP}" width="{max(x(until) - x(since), 1.2):.1f}" '
            f'height="{PLOT_HEIGHT}" fill="{colour}" opacity="0.55">'
            f"<title>{escape(band_title)}</title></rect>"
        )
    parts += [
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#888"/>',
        f'<line x1="{left}" y1="{TOP}" x2="{left}" y2="{bottom}" stroke="#888"/>',
    ]
    for fraction in (0, 0.5, 1):
        value, at = top * fraction, y(top * fraction)
        parts.append(
            f'<text x="{left - 4}" y="{at + 4:.1f}" text-anchor="end" font-size="11">{_number(value)}</text>'
        )
        if fraction:
            parts.append(f'<line x1="{left}" y1="{at:.1f}" x2="{right}" y2="{at:.1f}" stroke="#ddd"/>')
    for t, label in minutes_ago(start, end) if ticks is None else ticks:
        anchor = "start" if t == start else "end" if t == end else "middle"
        parts.append(
            f'<text x="{x(t):.1f}" y="{bottom + 14}" text-anchor="{anchor}" font-size="11">'
            f"{escape(label)}</text>"
        )
    parts.append(f'<text x="{left + 4}" y="{TOP + 10}" font-size="11" fill="#666">{escape(unit)}</text>')
    if not finite:
        parts.append(
            f'<text x="{(left + right) / 2}" y="{TOP + PLOT_HEIGHT / 2}" text-anchor="middle" '
            'font-size="13" fill="#666">none in these minutes</text>'
        )
    for index, (legend, points) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        for line in _segments(points, step):
            coordinates = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in line)
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{coordinates}"/>'
            )
        row, column = divmod(index, 4)
        lx, ly = left + column * 125, bottom + 30 + row * LEGEND_ROW
        parts.append(f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 14}" y="{ly}" font-size="12">{escape(legend)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text in it is escaped above)


def _segments(points, step):
    """The finite points, split where samples are missing for more than two steps."""
    line, last = [], None
    for t, v in points:
        if not math.isfinite(v):
            continue
        if last is not None and t - last > 2 * step and line:
            yield line
            line = []
        line.append((t, v))
        last = t
    if line:
        yield line
