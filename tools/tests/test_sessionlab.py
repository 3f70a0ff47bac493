"""manage.py sessionlab: the experiment matrix reports what its scenarios measured, faithfully.

The ``stack`` test runs the real command on real stacks: locmem loses the session to round robin
while db keeps it; the printed table, the JSON and the HTML say the same, and the counts can be
recounted from the raw probe answers the JSON keeps. Every scenario's own claims are checked in
test_scenarios.py.
"""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from conftest import require_binary
from tools.experiments.scenarios import SCENARIOS, select


@pytest.fixture
def sessionlab(tmp_path):
    """Run the command into a private results and run folder; (printed text, JSON, HTML)."""

    def run(*args):
        require_binary("nginx")
        out = io.StringIO()
        results = tmp_path / "results"
        call_command("sessionlab", *args, "--output", results, "--run-dir", tmp_path / "run", stdout=out)
        dated = sorted(results.glob("sessionlab-*.json"))
        assert len(dated) == 1
        assert dated[0].read_text() == (results / "latest.json").read_text()
        assert dated[0].with_suffix(".html").read_text() == (results / "latest.html").read_text()
        return out.getvalue(), json.loads(dated[0].read_text()), (results / "latest.html").read_text()

    return run


def cell(report, profile, scenario):
    return next(c for c in report["cells"] if c["profile"] == profile and c["scenario"] == scenario)


def assert_reported_alike(printed, report, html):
    """Every cell's summary is in its profile's row of the printed table, and in the HTML."""
    for c in report["cells"]:
        row = next(line for line in printed.splitlines() if line.startswith(f"| {c['profile']} "))
        assert f" {c['summary']} " in row, (row, c["summary"])
        assert f"<code>{c['summary']}</code>" in html
        for part in c["parts"]:
            assert f">{part['good']}/{part['total']}</span>" in html  # the matrix's coloured count
    assert report["complete"]
    assert report["command"] in printed and report["command"] in html


def recount(details):
    """Kept probes, recounted from the raw answers: same user, same cart, HTTP 200."""
    return sum(
        p["status"] == 200
        and p["authenticated"]
        and p["username"] == details["username"]
        and p["cart_items"] == details["expected_cart_items"]
        for p in details["probes"]
    )


@pytest.mark.stack
def test_round_robin_loses_locmem_sessions_and_keeps_db_sessions(sessionlab):
    printed, report, html = sessionlab("--profiles", "locmem,db", "--scenarios", "1", "--probes", "24")
    locmem, db = cell(report, "locmem", 1), cell(report, "db", 1)
    for c in (locmem, db):
        assert c["status"] == "measured", c["line"]
        assert len(c["details"]["probes"]) == 24  # every count comes from probes really made
        assert c["parts"][0]["total"] == 24
        assert c["parts"][0]["good"] == recount(c["details"])
        assert set(c["details"]["tally"]["servers"]) == {"server1", "server2", "server3"}

    assert locmem["parts"][0]["good"] < 12, "locmem should lose the session in most probes"
    assert locmem["details"]["checkout"] == "sent to log in"
    assert "worker processes keeps sessions in its own memory" in locmem["note"]
    assert db["parts"][0]["good"] == 24
    assert db["details"]["checkout"] == "order placed"
    assert_reported_alike(printed, report, html)
    assert "<script" not in html and 'src="http' not in html


def test_scenarios_are_chosen_by_number_or_name():
    assert [s.number for s in select("kill,1")] == [1, 3]
    assert [s.number for s in select("all")] == list(range(1, len(SCENARIOS) + 1))
    with pytest.raises(ValueError, match="unknown scenario"):
        select(str(len(SCENARIOS) + 1))


def test_unknown_profiles_are_refused_before_anything_starts():
    with pytest.raises(CommandError, match="unknown profile"):
        call_command("sessionlab", "--profiles", "memcached", stdout=io.StringIO())
