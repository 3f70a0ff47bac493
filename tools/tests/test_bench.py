"""`manage.py bench` end to end, in its quickest mode: every cell measured, no GET failing.

No speed is asserted: this machine is shared, and the numbers belong in docs/BENCHMARKS.md.
"""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from conftest import require_binary
from tools.bench import in_process
from tools.bench.breakdown import PAGES
from tools.bench.in_process import ratio
from tools.bench.stages import PROFILE_CELLS, Stage
from tools.management.commands.bench import FULL_PROFILES

pytestmark = pytest.mark.stack


def test_quick_bench_measures_every_cell_without_errors(tmp_path):
    require_binary("nginx")
    require_binary("wrk")
    path = tmp_path / "bench.json"
    out = io.StringIO()
    call_command(
        "bench",
        "--quick",
        "--profiles",
        "db",
        "--duration",
        "1",
        "--runs",
        "2",
        "--warmup",
        "0",
        "--json",
        str(path),
        stdout=out,
    )

    results = json.loads(path.read_text())
    [stage] = results["stages"]
    assert stage["profile"] == "db"
    assert list(stage["cells"]) == list(PROFILE_CELLS)
    for name, cell in stage["cells"].items():
        assert len(cell["runs"]) == 2, name
        for run in cell["runs"]:
            assert run["requests"] > 0, name
            assert run["rps"] > 0 and run["p50_ms"] > 0 and run["p99_ms"] > 0, (name, run)
            assert run["cpu_ms"] > 0, (name, run)
        assert cell["ratio"] > 0, name
        if name != "add":  # every cell but the POST is a GET
            assert cell["errors"] == 0, (name, cell)
    assert stage["cells"]["healthz"]["ratio"] == 1
    # The shopper's session survived the load, and the table was printed as it ran.
    assert stage["session_check"]["ok"], stage["session_check"]
    assert stage["memory"]["max_rss_mb"] > 0
    assert "healthz" in out.getvalue() and "| target |" in out.getvalue()


@pytest.mark.parametrize("text", FULL_PROFILES)
def test_every_stage_of_the_full_run_parses_to_its_setting(text):
    stage = Stage.parse(text)
    assert stage.name == text and stage.profile == text.partition("@")[0]
    assert (stage.db, stage.redis) == (
        "postgres" if text.endswith("@postgres") else "sqlite",
        "sentinel" if "@sentinel" in text else "single",
    )


def test_in_process_breakdown_times_every_part_of_a_signed_in_request(tmp_path):
    path = tmp_path / "breakdown.json"
    out = io.StringIO()
    call_command(
        "bench", "--in-process", "--profiles", "signed_cookies@nometrics", "--json", str(path), stdout=out
    )

    [measured] = json.loads(path.read_text())["profiles"]
    pages = measured["pages"]
    assert list(pages) == list(PAGES)
    for name, page in pages.items():
        assert page["total_us"] > 0 and page["wall_us"] > 0, name
        assert sum(page["sections_us"].values()) == pytest.approx(page["total_us"], rel=0.2), name
    # /healthz never reads the session; a signed-in page does, and a cookie session needs no query.
    assert pages["healthz"]["sections_us"]["session load"] == 0
    assert pages["probe"]["sections_us"]["session load"] > 0
    assert pages["add"]["sections_us"]["session save"] > 0
    assert pages["healthz"]["queries"] == 0 and pages["list"]["queries"] > 0
    assert "SessionMiddleware" in measured["sections"]
    assert all(page["sections_us"]["request_metrics"] == 0 for page in pages.values())  # SHOP_METRICS=0
    assert "| `signed_cookies@nometrics` |" in out.getvalue()
    # --baseline: the same figures as their own baseline compare as unchanged.
    results = json.loads(path.read_text())
    results["baseline"], results["profiles"][0]["baseline"] = "elsewhere", measured
    probe = ratio(measured, "probe")
    assert f"| `signed_cookies@nometrics` | {probe:.1f}× → {probe:.1f}× (1.00) |" in in_process.markdown(
        results
    )


@pytest.mark.parametrize("stage", ["db@postgres", "cache@sentinel", "db@gthread", "db@nonsense"])
def test_in_process_takes_only_the_settings_a_process_can_have(stage):
    with pytest.raises(CommandError, match=stage):
        call_command("bench", "--in-process", "--profiles", stage)
