"""`manage.py bench` end to end, in its quickest mode: every cell measured, no GET failing.

No speed is asserted: this machine is shared, and the numbers belong in docs/BENCHMARKS.md.
"""

import collections
import http.server
import io
import itertools
import json
import threading

import pytest
from django.core.management import CommandError, call_command

from conftest import require_binary
from tools.bench import in_process
from tools.bench.breakdown import PAGES
from tools.bench.in_process import ratio
from tools.bench.stages import PROFILE_CELLS, Stage
from tools.bench.wrk import Request, run_wrk
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


class CookieServer(http.server.BaseHTTPRequestHandler):
    """Every answer sets a new session cookie (as a cookie session's write does) after a messages
    cookie, and notes which cookie each request brought, per shopper (its csrftoken)."""

    protocol_version = "HTTP/1.1"
    served = itertools.count()
    seen = collections.defaultdict(list)

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        cookies = dict(part.split("=", 1) for part in self.headers["Cookie"].split("; "))
        self.seen[cookies["csrftoken"]].append(cookies["sessionid"])
        new = f"{cookies['csrftoken']}-{next(self.served)}"
        self.send_response(302)
        self.send_header("Set-Cookie", "messages=m; Path=/")
        self.send_header("Set-Cookie", f"sessionid={new}; HttpOnly; Path=/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_writes_of_a_cookie_session_send_the_cookie_the_last_answer_set(tmp_path):
    """follow.lua: one shopper per connection, each request with the session cookie of the answer
    before it."""
    require_binary("wrk")
    requests = tmp_path / "add.requests"
    requests.write_text(
        "".join(
            Request("POST", "/cart/add/1/", f"csrftoken={s}; sessionid={s}-start", "q=1").line() for s in "ab"
        )
    )
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), CookieServer) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        result = run_wrk(f"http://127.0.0.1:{server.server_port}/", requests, 1, 2, follow="sessionid")
        server.shutdown()
    assert result["errors"] == 0 and result["requests"] > 10
    for shopper in "ab":
        sent = CookieServer.seen[shopper]
        assert sent[0] == f"{shopper}-start" and len(sent) > 5
        assert all(cookie.startswith(f"{shopper}-") for cookie in sent)  # never another shopper's
        assert len(set(sent)) == len(sent)  # never one sent twice: each answer's cookie, once
