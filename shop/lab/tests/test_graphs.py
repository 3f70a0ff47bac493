"""The lab's graphs drawn without any server: the SVG, and what the page says without Prometheus.
The graphs of a real Prometheus are tools/tests/test_metrics.py's."""

import re
import socket
import time
import xml.etree.ElementTree as ET

import pytest

from shop.lab import graphs

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg):
    return ET.fromstring(str(svg))  # noqa: S314 (the SVG this test just drew)


def polylines(svg):
    return parse(svg).iter(f"{SVG}polyline")


def test_a_series_is_drawn_inside_the_plot_and_a_missing_stretch_breaks_its_line():
    start, end = 1000.0, 1600.0
    steady = [(t, 3.0) for t in range(1000, 1601, 5)]
    # server2 was down from t=1200 to t=1300: Prometheus has no samples for it there.
    gapped = [(t, 7.5) for t in range(1000, 1601, 5) if not 1200 < t < 1300]
    svg = graphs.render_svg("Requests", "req/s", [("server1", steady), ("<server2>", gapped)], start, end)

    lines = list(polylines(svg))
    assert len(lines) == 3  # server1 whole, server2 before and after its outage
    for line in lines:
        for point in line.get("points").split():
            x, y = map(float, point.split(","))
            assert graphs.LEFT <= x <= graphs.WIDTH and graphs.TOP <= y <= graphs.TOP + graphs.PLOT_HEIGHT
    texts = [text.text for text in parse(svg).iter(f"{SVG}text")]
    assert "10" in texts  # the axis' top: 7.5 rounded up to a readable number
    assert {"server1", "<server2>", "now", "-10 min"} <= set(texts)
    assert "&lt;server2&gt;" in svg  # legends are escaped


def test_no_samples_say_so_and_not_a_number_is_skipped():
    empty = graphs.render_svg("503s", "503/s", [], 0, 600)
    assert "none in these minutes" in empty and not list(polylines(empty))
    nan = graphs.render_svg("latency", "ms", [("load", [(0, float("nan")), (5, 2.0), (10, 4.0)])], 0, 600)
    assert [line.get("points").count(",") for line in polylines(nan)] == [2]


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (0.03, 0.05), (1, 1), (7.5, 10), (120, 200), (4001, 5000)]
)
def test_the_axis_ends_on_a_readable_number(value, ceiling):
    assert graphs.nice_ceiling(value) == pytest.approx(ceiling)


def test_the_lab_page_says_plainly_when_prometheus_is_not_running(client, settings):
    settings.SHOP_PROMETHEUS_URL = ""
    page = client.get("/lab/").content.decode()
    assert re.search(r'data-testid="graphs-missing">Prometheus is not running: start the stack with', page)
    assert "<svg" not in page


def test_a_prometheus_that_does_not_answer_costs_the_page_a_second_at_most(client, settings):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        settings.SHOP_PROMETHEUS_URL = f"http://127.0.0.1:{closed.getsockname()[1]}/"
        began = time.monotonic()
        page = client.get("/lab/graphs/")
    assert time.monotonic() - began < graphs.TIMEOUT + 1
    assert page.status_code == 200
    assert f"Prometheus at {settings.SHOP_PROMETHEUS_URL} did not answer" in page.content.decode()
    assert '<meta http-equiv="refresh" content="5">' in page.content.decode()
