"""The soak's metric series on hand-made samples: what a server's /metrics says is kept, counters
become rates as Prometheus's rate() makes them (a restarted server's counter starts again from zero),
the latency percentile is histogram_quantile's, and the report draws the lab's four graphs under its
timeline. The sampler on real servers is test_soak.py's."""

import collections
import math
import re
import xml.etree.ElementTree as ET

import pytest

from shop.lab.graphs import PANELS, PLOT_HEIGHT, TOP
from tools.soak.history import load
from tools.soak.report import metric_panels, render_html, write
from tools.soak.series import percentiles, quantile, rates, reading, series
from tools.tests.test_soak_report import history_with_a_loss

SVG = "{http://www.w3.org/2000/svg}"
EXPOSITION = """\
# TYPE shop_http_requests_total counter
shop_http_requests_total{status="200",view="home"} 7.0
shop_http_requests_total{status="302",view="cart_add"} 3.0
# TYPE shop_unavailable_responses_total counter
shop_unavailable_responses_total{cause="redis"} 2.0
# TYPE shop_session_lock_waits_total counter
shop_session_lock_waits_total{store="db"} 4.0
# TYPE shop_session_store_duration_seconds histogram
shop_session_store_duration_seconds_bucket{le="0.001",operation="load",profile="db"} 5.0
shop_session_store_duration_seconds_bucket{le="+Inf",operation="load",profile="db"} 6.0
shop_session_store_duration_seconds_bucket{le="0.001",operation="load",profile="file"} 1.0
shop_session_store_duration_seconds_bucket{le="+Inf",operation="load",profile="file"} 1.0
shop_session_store_duration_seconds_count{operation="load",profile="db"} 6.0
# TYPE shop_logins_total counter
shop_logins_total{result="success"} 9.0
# TYPE shop_redis_primary_up gauge
shop_redis_primary_up NaN
"""


def parse(svg):
    return ET.fromstring(str(svg))  # noqa: S314 (the SVG this test just drew)


def found(requests=0, unavailable=None, waits=0, timeouts=0, store=None):
    return {
        "requests": requests,
        "unavailable": unavailable or {},
        "lock_waits": waits,
        "lock_timeouts": timeouts,
        "store": store or {},
    }


def test_a_reading_keeps_what_the_four_panels_need_summed_over_the_other_labels():
    assert reading(EXPOSITION) == found(
        requests=10, unavailable={"redis": 2}, waits=4, store={"load": {"0.001": 6, "+Inf": 7}}
    )


def test_a_counter_becomes_a_rate_per_server_and_a_restart_counts_from_zero():
    samples = [
        {"t": 0.0, "servers": {"server1": found(100), "server2": found(50)}},
        {"t": 1.0, "servers": {"server1": found(110), "server2": found(56)}},
        {"t": 2.0, "servers": {"server1": found(120)}},  # server2 did not answer
        {"t": 3.0, "servers": {"server1": found(4), "server2": found(62)}},  # server1 restarted
    ]
    per_server = rates(samples, lambda f: {"all": f["requests"]}, per_server=True)
    assert per_server == {"server1": [(1.0, 10), (2.0, 10), (3.0, 4)], "server2": [(1.0, 6), (3.0, 3)]}


def test_rates_are_summed_over_the_servers_by_label_and_a_new_label_counts_from_zero():
    samples = [
        {"t": 0.0, "servers": {"server1": found(), "server2": found(unavailable={"redis": 1})}},
        {
            "t": 2.0,
            "servers": {
                "server1": found(unavailable={"redis": 4}),
                "server2": found(unavailable={"redis": 3}),
            },
        },
    ]
    assert rates(samples, lambda f: f["unavailable"]) == {"redis": [(2.0, 3.0)]}


def test_the_percentile_is_interpolated_within_its_bucket_as_histogram_quantile_does():
    inf = math.inf
    assert quantile(0.95, {0.001: 50, 0.01: 100, inf: 100}) == pytest.approx(0.001 + 0.009 * 45 / 50)
    assert quantile(0.5, {0.001: 10, inf: 10}) == pytest.approx(0.0005)  # the first bucket starts at 0
    assert quantile(0.95, {0.001: 10, 0.01: 10, inf: 20}) == 0.01  # beyond the last bound: the bound
    assert quantile(0.95, {0.001: 0, inf: 0}) is None


def test_the_store_percentile_is_of_the_last_seconds_only_and_by_operation():
    def store(fast, slow, saves=0):
        return found(
            store={"load": {"0.001": fast, "0.1": fast + slow, "+Inf": fast + slow}, "save": {"+Inf": saves}}
        )

    samples = [{"t": float(t), "servers": {"server1": store(10 * t, 10 if t >= 2 else 0)}} for t in range(9)]
    p95 = dict(percentiles(samples, window=5.0)["load"])
    assert p95[1.0] == pytest.approx(0.00095)  # only fast loads so far
    assert p95[2.0] > 0.05  # ten slow loads among ten fast ones
    assert p95[8.0] < 0.001  # the slow ones are more than five seconds ago
    assert "save" not in percentiles(samples)  # no save was observed: no line


def metric_samples():
    """Two servers over ten seconds; server2 is down at 4 and 5 s, and back with its counters at zero."""
    samples = []
    for t in range(11):
        loads = {"0.001": 20 * t, "0.01": 30 * t, "+Inf": 30 * t}
        servers = {}  # server2 read first: the legend still goes by name
        if t not in (4, 5):
            servers["server2"] = found(30 * (t if t < 4 else t - 5), timeouts=t // 3)
        servers["server1"] = found(40 * t, {"redis": t}, waits=t, store={"load": loads})
        samples.append({"t": float(t), "servers": servers})
    return {"every": 1.0, "samples": samples}


def points(polyline):
    return [tuple(map(float, point.split(","))) for point in polyline.get("points").split()]


def test_the_report_draws_the_four_panels_under_the_timeline_a_line_per_server():
    history, database, verdicts = history_with_a_loss()
    history |= {"seconds": 10.0, "metrics": metric_samples()}
    page = render_html(history, database, verdicts)
    drawn = metric_panels(history)
    assert [panel["title"] for panel in drawn] == [panel.title for panel in PANELS]
    for panel in drawn:
        assert page.index("Timeline of the soak") < page.index(panel["svg"])

    requests = parse(drawn[0]["svg"])
    legends = [text.text for text in requests.iter(f"{SVG}text")]
    assert legends.index("server1") < legends.index("server2")
    lines = collections.Counter(line.get("stroke") for line in requests.iter(f"{SVG}polyline"))
    assert list(lines.values()) == [1, 2]  # server1 whole; server2 before and after its restart
    for panel in drawn:
        for line in parse(panel["svg"]).iter(f"{SVG}polyline"):
            assert all(TOP <= y <= TOP + PLOT_HEIGHT for _, y in points(line)), "no rate below zero"

    # The fault's band stands at the same x in the timeline and in every panel.
    timeline = page[page.index('aria-label="Timeline of the soak"') :]
    band_x = re.search(r'<rect x="([\d.]+)" y="20"', timeline).group(1)
    for panel in drawn:
        band = next(
            rect for rect in parse(panel["svg"]).iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None
        )
        assert float(band.get("x")) == pytest.approx(float(band_x), abs=0.1)
        assert "kill_server server2" in band.find(f"{SVG}title").text


def test_the_samples_survive_the_json_and_an_old_history_has_no_panels(tmp_path):
    history, database, verdicts = history_with_a_loss()
    page = render_html(history, database, verdicts)
    assert "No metrics of the servers were sampled" in page
    assert not any(panel.title in page for panel in PANELS)

    history |= {"seconds": 10.0, "metrics": metric_samples()}
    document = load(write(history, database, verdicts, tmp_path)["json"])
    assert document["metrics"] == history["metrics"]
    assert series(document["metrics"]["samples"]) == series(history["metrics"]["samples"])
