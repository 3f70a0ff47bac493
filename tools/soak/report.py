"""The soak's report: the verdicts as text for the console, and an HTML page with a timeline.

The page is one self-contained file (inline SVG and styles, no script) rendered from
``templates/soak/report.html``: faults as bands, one lane per shopper with every request, the
requests that failed and the latency per second, every loss marked where it was found (and a line
back to the change it lost), then the verdict table and the evidence.
"""

import collections
import json
import shutil
import statistics
from datetime import UTC, datetime

from django.template.loader import render_to_string

from shop.lab.graphs import Frame, render_svg

from .checker import failed, totals
from .history import DONE, REFUSED, outcome, unavailable
from .series import series

LATEST_HTML = "soak-latest.html"  # what /lab/soak/ serves
LEFT, WIDTH = 70, 1000  # the timeline's lane labels, and its plot's width in pixels
LANE, GAP = 16, 4
CHART = 60  # height of each per-second chart
COLORS = {"ok": "#9bbf9b", "refused": "#6b8fc7", "503": "#e6a23c", "5xx": "#c0392b", "none": "#222"}
FAULT_COLORS = ["#f3d9a4", "#d8c7ec", "#bfe0e6", "#f5c6c6", "#d4e8c2", "#e9e2b8"]


def answer_class(op):
    if op["status"] is None:
        return "none"
    if op["status"] >= 500:
        return "503" if op["status"] == 503 and op.get("retry_after") else "5xx"
    return {DONE: "ok", REFUSED: "refused"}[outcome(op)]


def summary(history, database, verdicts):
    """The console's text, and what was lost in words ("" when nothing: the soak passes)."""
    lines = [f"{v.mark:<5} {v.title:<45} {v.line}" for v in verdicts]
    counted = totals(history, database)
    lines.append(
        f"\n{counted['requests']} requests, {counted['acknowledged_adds']} acknowledged adds, "
        f"{counted['orders_acknowledged']} orders confirmed, {counted['orders_in_db']} in the database, "
        f"{counted['unavailable']} requests unavailable, {counted['faults']} faults"
    )
    for row in next(v for v in verdicts if v.key == "availability").evidence:
        lines.append(
            f"  {row['start']:6.1f} s {row['kind']:<18} {row['target'] or '':<9}"
            f" on {row['on_seconds']:5.1f} s,"
            f" {row['unavailable']}/{row['requests']} unavailable,"
            f" longest window {row['longest_unavailable']:.1f} s"
        )
    for fault in history["faults"]:
        if not fault["ok"]:
            lines.append(
                f"  the stack could not do {fault['kind']} at {fault['start']:.1f} s: {fault['note']}"
            )
    for kind, why in history.get("left_out", {}).items():
        lines.append(f"  left out: {kind}: {why}")
    if history.get("aborted"):
        lines.append(f"ABORTED: {history['aborted']}")
    if history.get("incidents"):
        lines.append(
            f"{len(history['incidents'])} shopper incidents (bugs of the soak's own code): see the JSON"
        )
    lost = "; ".join(f"{v.title}: {v.line}" for v in failed(verdicts))
    return "\n".join(lines), lost


# The timeline ---------------------------------------------------------------------------
class Scale:
    def __init__(self, seconds):
        self.seconds = max(seconds, 1.0)

    def x(self, t):
        return round(LEFT + t / self.seconds * WIDTH, 1)

    def w(self, start, end):
        return max(round((end - start) / self.seconds * WIDTH, 1), 1.2)


def fault_spans(history):
    """Each fault from its start until the stack was whole again: (start, end, colour, title)."""
    for k, fault in enumerate(history["faults"]):
        end = max(fault["end"] or fault["start"], fault["healed"] or 0)
        title = f"{fault['kind']} {fault['target'] or ''} at {fault['start']:.1f} s: {fault['note']}"
        yield fault["start"], end, FAULT_COLORS[k % len(FAULT_COLORS)], title


def fault_bands(history, scale):
    return [
        {
            "x": scale.x(start),
            "w": scale.w(start, end),
            "color": colour,
            "label": history["faults"][k]["kind"],
            "label_y": 10 + (k % 3) * 9,
            "title": title,
        }
        for k, (start, end, colour, title) in enumerate(fault_spans(history))
    ]


def ticks(scale):
    """The time axis: a label every ten seconds."""
    return [(t, f"{t} s") for t in range(0, int(scale.seconds) + 1, 10)]


def request_marks(history, scale, lane_y):
    """One mark per request: the main browser in the lane's upper half, the phone in its lower."""
    marks = []
    for op in history["ops"]:
        answer, seconds = op["status"] or "no answer", op["end"] - op["start"]
        marks.append(
            {
                "x": scale.x(op["start"]),
                "y": lane_y[op["shopper"]] + (LANE // 2 if op["browser"] != op["shopper"] else 0),
                "w": scale.w(op["start"], op["end"]),
                "h": LANE // 2,
                "color": COLORS[answer_class(op)],
                "title": f"#{op['id']} {op['method']} {op['path']} → {answer} ({seconds:.2f} s)",
            }
        )
    return marks


def loss_marks(lost, scale, lane_y):
    return [
        {
            "x": scale.x(loss["at"]),
            "y": lane_y[loss["shopper"]],
            "from_x": scale.x(loss.get("change_end", loss["at"])),
            "title": (
                f"read #{loss['read']} ({loss['where']}): product {loss['product']} showed {loss['seen']}, "
                f"expected {' or '.join(map(str, loss['expected']))}; change #{loss.get('change', '?')}"
            ),
        }
        for loss in lost
    ]


def per_second(history, scale, errors_y, latency_y):
    """Requests unavailable per second (bars) and latency per second (median and slowest lines)."""
    seconds = collections.defaultdict(list)
    for op in history["ops"]:
        seconds[int(op["start"])].append(op)
    most = max((sum(map(unavailable, ops)) for ops in seconds.values()), default=0) or 1
    slowest = max((op["end"] - op["start"] for op in history["ops"]), default=0) or 1
    bars, median, peak = [], [], []
    for second, ops in sorted(seconds.items()):
        down = sum(map(unavailable, ops))
        if down:
            h = round(down / most * CHART, 1)
            title = f"{second} s: {down} of {len(ops)} unavailable"
            bars.append(
                {
                    "x": scale.x(second),
                    "y": errors_y + CHART - h,
                    "w": scale.w(0, 1) - 1,
                    "h": h,
                    "title": title,
                }
            )
        times = [op["end"] - op["start"] for op in ops]
        x = scale.x(second + 0.5)
        median.append(f"{x},{round(latency_y + CHART - statistics.median(times) / slowest * CHART, 1)}")
        peak.append(f"{x},{round(latency_y + CHART - max(times) / slowest * CHART, 1)}")
    errors = {"y": errors_y, "bars": bars, "most": most, "label_y": errors_y + CHART // 2}
    latency = {
        "y": latency_y,
        "median": " ".join(median),
        "peak": " ".join(peak),
        "slowest": round(slowest, 2),
    }
    return errors, latency | {"label_y": latency_y + CHART // 2}


def timeline(history, verdicts):
    """Everything the SVG draws, in pixels."""
    scale = Scale(history["seconds"])
    shoppers = list(history.get("users", {})) or sorted({op["shopper"] for op in history["ops"]})
    lane_y = {name: 30 + k * (LANE + GAP) for k, name in enumerate(shoppers)}
    lanes_end = 30 + len(shoppers) * (LANE + GAP)
    errors_y, latency_y = lanes_end + 20, lanes_end + 40 + CHART
    height = latency_y + CHART + 30
    errors, latency = per_second(history, scale, errors_y, latency_y)
    lost = next(v for v in verdicts if v.key == "lost_changes").evidence
    return {
        "width": LEFT + WIDTH + 20,
        "height": height,
        "lanes": [{"name": name, "y": y, "mid": y + LANE - 4} for name, y in lane_y.items()],
        "faults": fault_bands(history, scale),
        "ops": request_marks(history, scale, lane_y),
        "losses": loss_marks([loss for loss in lost if "at" in loss], scale, lane_y),
        "errors": errors,
        "latency": latency,
        "chart": CHART,
        "ticks": [{"x": scale.x(t), "label": label} for t, label in ticks(scale)],
        "axis_y": height - 12,
        "left": LEFT,
        "right": LEFT + WIDTH,
    }


def metric_panels(history):
    """The lab's four graphs of the servers' metrics, on the timeline's time axis and with its fault
    bands: [{"title", "svg"}], none for a history without samples."""
    metrics = history.get("metrics", {})
    if not metrics.get("samples"):
        return []
    scale = Scale(history["seconds"])
    axis = {
        "step": metrics["every"],
        "frame": Frame(width=LEFT + WIDTH + 20, left=LEFT, right=LEFT + WIDTH),
        "ticks": ticks(scale),
        "bands": list(fault_spans(history)),
    }
    return [
        {
            "title": panel.title,
            "svg": render_svg(panel.title, panel.unit, list(lines.items()), 0, scale.seconds, **axis),
        }
        for panel, lines in series(metrics["samples"])
    ]


def render_html(history, database, verdicts):
    context = {
        "history": history,
        "verdicts": [v.as_json() for v in verdicts],
        "totals": totals(history, database),
        "timeline": timeline(history, verdicts),
        "metrics": metric_panels(history),
        "colors": COLORS,
        "lost": failed(verdicts),
        "availability": next(v for v in verdicts if v.key == "availability").evidence,
        "evidence": [v for v in verdicts if v.evidence and v.key != "availability"],
    }
    return render_to_string("soak/report.html", context)


def write(history, database, verdicts, folder):
    """The run's JSON (history, database snapshot, verdicts) and HTML; soak-latest.* copies."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(history["started"]).astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    paths = {"json": folder / f"soak-{stamp}.json", "html": folder / f"soak-{stamp}.html"}
    document = history | {
        "database": database,
        "verdicts": [v.as_json() for v in verdicts],
        "totals": totals(history, database),
    }
    paths["json"].write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    paths["html"].write_text(render_html(history, database, verdicts))
    shutil.copyfile(paths["json"], folder / "soak-latest.json")
    shutil.copyfile(paths["html"], folder / LATEST_HTML)
    return paths
