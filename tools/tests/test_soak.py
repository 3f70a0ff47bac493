"""manage.py soak on real stacks, as issue 19's "done means" asks.

A quick seeded soak of ``db`` and of ``cache --redis sentinel`` with every fault kind the stack
supports loses nothing the shop acknowledged: no cart change, no login, no order; no form makes two
orders, stock is conserved and no answer is a 5xx but a 503 with Retry-After (a POST cut off by a
SIGKILL is counted apart). A soak with --unsafe (no per-session lock, no WAIT, a naive switch)
must fail: two tabs of one shopper adding at once lose a line, and the naive switch logs shoppers
out. The checker's verdicts themselves are
proven on hand-made histories in test_soak_checker.py.
"""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from conftest import require_binary
from shop.core.profiles import profile
from shop.lab.graphs import PANELS
from tools.soak.faults import supported
from tools.soak.run import Options

pytestmark = pytest.mark.stack

# Two servers, three shoppers, every kind once (--duration 1 is shorter than the gaps add up to),
# 0.2-0.5 s apart. The rolling operations (a rotation and a switch restart each server twice, a
# rolling restart once) and the full stop and start take most of the time: 30-55 s at a load of
# 1-3, twice that at a load of 15.
QUICK = ["--servers", "2", "--workers", "2", "--shoppers", "3", "--duration", "1", "--every", "0.2-0.5"]


def soak(tmp_path, *args):
    """Run the command into private folders: (exit status, printed text, the JSON it wrote, the HTML)."""
    require_binary("nginx")
    out, results = io.StringIO(), tmp_path / "results"
    try:
        call_command("soak", *args, "--run-dir", tmp_path / "run", "--output", results, stdout=out)
        status = 0
    except CommandError as error:
        status = error.returncode
    report = json.loads((results / "soak-latest.json").read_text())
    return status, out.getvalue(), report, (results / "soak-latest.html").read_text()


def verdicts(report):
    return {verdict["key"]: verdict for verdict in report["verdicts"]}


@pytest.mark.parametrize(
    ("shape", "seed"),
    [({"profile": "db"}, 20), ({"profile": "cache", "redis": "sentinel"}, 94)],
    ids=["db", "cache-sentinel"],
)
def test_a_quick_seeded_soak_loses_nothing_acknowledged(tmp_path, shape, seed):
    if profile(shape["profile"]).needs_redis:
        require_binary("redis-server")
    args = [f"--{name}={value}" for name, value in shape.items()]
    status, printed, report, html = soak(tmp_path, *args, *QUICK, "--seed", str(seed))
    assert [verdict["line"] for verdict in report["verdicts"] if verdict["passed"] is False] == [], printed
    assert status == 0, printed
    kinds = supported(Options(**shape))
    assert sorted({fault["kind"] for fault in report["faults"]}) == sorted(kinds), "every kind, at least once"
    assert all(fault["ok"] for fault in report["faults"]), report["faults"]
    assert report["incidents"] == [] and "aborted" not in report
    counted = report["totals"]
    assert counted["acknowledged_adds"] >= 30 and counted["orders_acknowledged"] >= 1, counted
    assert counted["orders_acknowledged"] <= counted["orders_in_db"]
    for verdict in report["verdicts"]:
        assert verdict["line"] in printed and verdict["line"] in html
    assert "<svg" in html and "<script" not in html
    # Every server's own /metrics, read once a second through every fault, and drawn under the timeline.
    samples = report["metrics"]["samples"]
    readings = [(name, found) for sample in samples for name, found in sample["servers"].items()]
    assert {name for name, _ in readings} == {"server1", "server2"}
    assert samples[-1]["t"] > max(fault["end"] for fault in report["faults"])
    assert max(found["requests"] for _, found in readings) > 0
    assert any("load" in found["store"] for _, found in readings)
    assert html.index("Timeline of the soak") < html.index(PANELS[0].title)
    assert html.count('class="graph"') == len(PANELS) and all(panel.title in html for panel in PANELS)


def test_without_the_lock_and_with_a_naive_switch_the_checker_finds_losses(tmp_path):
    """Two tabs of one shopper add different products at once: without the per-session lock both
    requests read the session before either saves it, and the last save wins, so one line goes.
    Then the naive switch to ``file``: its servers do not read the database's sessions."""
    args = ["--profile", "db", "--faults", "switch_profile", "--every", "6-7", "--unsafe"]
    status, printed, report, html = soak(tmp_path, *args, *QUICK[:6], "--duration", "8", "--seed", "2")
    found = verdicts(report)
    assert status == 1
    assert not found["lost_changes"]["passed"] and not found["logouts"]["passed"], printed
    ops = {op["id"]: op for op in report["ops"]}

    def raced(loss):
        """A change since the line was last read overlapped another add of the same browser."""
        return any(
            other["action"] == "add"
            and other["browser"] == change["browser"]
            and other["id"] != change["id"]
            and other["start"] < change["end"]
            and change["start"] < other["end"]
            for change in (ops[i] for i in loss["changes_since_read"])
            for other in report["ops"]
        )

    assert any(raced(loss) for loss in found["lost_changes"]["evidence"] if "change" in loss)
    assert "switched from db to file naively" in printed
    assert "The checker found losses" in html
