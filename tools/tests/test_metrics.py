"""``runstack --metrics`` on one stack with every kind of part: servers, Redis (the cache profile, a
Sentinel group), PostgreSQL and nginx, each on a host of its own, and Prometheus with the exporters
on theirs.

What an operator relies on: Prometheus holds series from every server and store after a shopper's
visits; lock waits show when one session's requests collide; a killed Redis primary shows as 503s;
the public port never serves the servers' metrics while the scraper gets them; and a stop leaves
nothing behind. (Hardened mode's
/metrics is tools/tests/test_tls.py's; the metrics module itself, shop/core/tests/test_metrics.py.)
"""

import json
import os
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import require_binary
from tools.client import Shopper, products_for_sale
from tools.stack.children import process_group, wait_until
from tools.stack.hosts import ip
from tools.stack.monitoring import USUAL_PORTS, Monitor
from tools.stack.nginx import render_config
from tools.stack.services import RedisSentinel, RedisServer
from tools.stack.stack import Stack

from .test_config import assert_nginx_accepts

# Private: the last test stops it.
STACK = {
    "profile": "cache",
    "redis": "sentinel",
    "db": "postgres",
    "hosts": True,
    "metrics": True,
    "private": True,
}
CONCURRENT_ADDS = 8


def test_the_rendered_prometheus_and_nginx_configs_are_valid(tmp_path):
    """What --metrics writes, checked by the programs themselves (promtool, nginx -t): the scrape
    jobs of servers, a Redis group through the exporter, and nginx's stub_status server."""
    promtool, nginx = require_binary("promtool"), require_binary("nginx")
    require_binary("redis-server")
    stack = Stack(profile="cache", metrics=True, run_dir=tmp_path)
    stack._metrics_at = {name: ("127.0.0.1", 9000 + k) for k, name in enumerate(USUAL_PORTS)}
    stack.nginx_status = ("127.0.0.1", 9099)
    stack.servers = [
        SimpleNamespace(name=f"server{k}", address="127.0.0.1", port=8000 + k, ready=True) for k in (1, 2)
    ]
    stack.stores = [RedisServer(tmp_path / "redis", 6379), RedisSentinel(tmp_path / "sentinel", 26379)]
    stack.monitors = [
        Monitor(name, "exporter", [], "127.0.0.1", 9000 + k, None, None) for k, name in enumerate(USUAL_PORTS)
    ]
    (tmp_path / "prometheus").mkdir()
    assert stack._write_prometheus_config() and not stack._write_prometheus_config()  # unchanged: no reload
    config = tmp_path / "prometheus" / "prometheus.yml"
    result = subprocess.run([promtool, "check", "config", config], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = {job["job_name"]: job for job in json.loads(config.read_text())["scrape_configs"]}
    assert [group["labels"]["server"] for group in jobs["shop"]["static_configs"]] == ["server1", "server2"]
    assert len(jobs["redis"]["static_configs"]) == 2 and jobs["shop"]["scrape_interval"] == "1s"

    nginx_conf = render_config(
        tmp_path, 8080, stack.servers, "round_robin", status=stack.nginx_status
    ).read_text()
    assert "listen 127.0.0.1:9099;" in nginx_conf and "stub_status;" in nginx_conf
    assert "location ^~ /metrics" in nginx_conf
    assert_nginx_accepts(nginx, tmp_path)


def query(stack, promql):
    """Prometheus's instant answer: [(labels, value)]."""
    answer = httpx.get(f"{stack.prometheus_url}api/v1/query", params={"query": promql}, timeout=5).json()
    return [(series["metric"], float(series["value"][1])) for series in answer["data"]["result"]]


def total(stack, promql):
    return sum(value for _, value in query(stack, promql))


@pytest.mark.stack
def test_prometheus_holds_series_from_every_server_and_store_after_a_shoppers_visits(stack):
    parts = {part["name"]: part for part in stack.status()["parts"]}
    assert {name: parts[name]["role"] for name in ("prometheus", "redis-exporter", "nginx-exporter")} == {
        "prometheus": "prometheus",
        "redis-exporter": "exporter",
        "nginx-exporter": "exporter",
    }
    assert parts["postgres-exporter"]["role"] == "exporter"
    assert {parts[name]["host"] for name in ("prometheus", "redis-exporter", "postgres-exporter")} == {
        "metrics"
    }
    assert stack.prometheus_url == f"http://{parts['prometheus']['address']}:{parts['prometheus']['port']}/"

    shopper = Shopper(stack.url, "metrics").sign_up()
    product = products_for_sale(shopper.browser)[0]
    shopper.add(product)
    assert shopper.cart_lines() == {product[1]: 1}

    servers = {server.name for server in stack.servers}

    def every_server_counted_the_visits():
        counted = query(stack, 'sum by (server) (shop_http_requests_total{view="cart:detail"})')
        everywhere = query(stack, "sum by (server) (shop_http_requests_total)")
        return {labels["server"] for labels, _ in everywhere} == servers and counted

    wait_until(every_server_counted_the_visits, 30, "waiting for Prometheus to hold every server's requests")
    saves = query(stack, 'sum by (profile) (shop_session_store_duration_seconds_count{operation="save"})')
    assert saves and saves[0][0]["profile"] == "cache" and saves[0][1] >= 2  # sign-up, add
    assert total(stack, 'shop_logins_total{result="success"}') >= 1
    assert total(stack, "shop_session_size_bytes_count") >= 2
    # The stores, through their exporters: every target is up.
    assert {labels["job"]: value for labels, value in query(stack, "min by (job) (up)")} == {
        "shop": 1,
        "redis": 1,
        "exporters": 1,
    }
    assert total(stack, "redis_connected_clients") >= 1
    assert total(stack, "pg_up") == 1
    assert total(stack, "nginx_connections_accepted") >= 1

    # The lab draws them: a legend per server.
    lab = shopper.browser.get("/lab/").text
    assert 'data-testid="graphs"' in lab and lab.count("<svg") == 4
    assert all(f">{name}</text>" in lab for name in servers)


@pytest.mark.stack
def test_concurrent_adds_of_one_session_raise_the_lock_wait_count(stack):
    shopper = Shopper(stack.url, "race").sign_up()
    product = products_for_sale(shopper.browser)[0]
    waits_before = total(stack, "shop_session_lock_waits_total")
    locks_before = total(stack, "shop_session_lock_wait_seconds_count")
    token = shopper.browser.form_token(product[0])

    def add(_):
        return shopper.browser.post(
            f"/cart/add/{product[1]}/", data={"quantity": 1, "csrfmiddlewaretoken": token}
        ).status_code

    with ThreadPoolExecutor(CONCURRENT_ADDS) as pool:
        statuses = list(pool.map(add, range(CONCURRENT_ADDS)))
    assert statuses == [302] * CONCURRENT_ADDS
    assert shopper.cart_lines() == {product[1]: CONCURRENT_ADDS}  # the lock kept every add

    def counted():
        """Every add took the lock (a scrape of each server since), and some waited for it."""
        taken = total(stack, "shop_session_lock_wait_seconds_count") - locks_before
        return taken >= CONCURRENT_ADDS and total(stack, "shop_session_lock_waits_total") > waits_before

    wait_until(counted, 30, "waiting for Prometheus to count the adds that waited for the session's lock")


@pytest.mark.stack
@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/metrics?format=text", "//metrics", "/%6Detrics"])
def test_the_public_port_never_serves_metrics_but_each_server_does(stack, path):
    public = httpx.get(stack.url.rstrip("/") + path, timeout=5)  # absolute: "//metrics" stays a path
    assert public.status_code == 404
    assert "shop_" not in public.text
    assert "X-Served-By" not in public.headers  # nginx answered it, no server was asked
    for server in stack.servers:
        scraped = httpx.get(f"http://{server.address}:{server.port}/metrics", timeout=5)
        assert scraped.status_code == 200
        assert "shop_http_requests_total{" in scraped.text


@pytest.mark.stack
def test_a_servers_metrics_sum_every_one_of_its_workers(stack):
    """prometheus_client's multiprocess mode: /metrics counts what every worker answered."""
    server = stack.servers[0]
    base = f"http://{server.address}:{server.port}"

    def answered():
        text = httpx.get(f"{base}/metrics", timeout=5).text
        samples = (s for family in text_string_to_metric_families(text) for s in family.samples)
        wanted = {"view": "core:healthz", "status": "200"}
        return sum(s.value for s in samples if s.name == "shop_http_requests_total" and s.labels == wanted)

    before, workers, sent = answered(), set(), 0
    # Each request is a new connection (sync workers answer "Connection: close"), which any worker
    # may accept: ask until every worker has answered at least once.
    while len(workers) < stack.workers and sent < 100:
        response = httpx.get(f"{base}/healthz", headers={"Host": "127.0.0.1"}, timeout=5)
        workers.add(response.headers["X-Served-By"])
        sent += 1
    assert len(workers) == stack.workers
    assert answered() == before + sent


@pytest.mark.stack
def test_a_killed_redis_primary_shows_in_the_503s_by_cause(stack):
    """Until Sentinel has promoted a replica (and while the old primary is not yet back as a replica,
    every session write's WAIT for both replicas fails), adds answer 503: Prometheus counts them."""
    shopper = Shopper(stack.url, "failover").sign_up()
    product = products_for_sale(shopper.browser)[0]
    before = total(stack, "shop_unavailable_responses_total")
    roles = {part["name"]: part["role"] for part in stack.status()["parts"]}
    primary = next(store for store in stack.stores if roles[store.name] == "redis-primary")
    primary.child.signal(signal.SIGKILL)

    def refused():
        shopper.add(product, required=False)
        return total(stack, "shop_unavailable_responses_total") > before

    wait_until(refused, 60, "waiting for Prometheus to count the 503s of a Redis without its primary")
    causes = {labels["cause"] for labels, _ in query(stack, "shop_unavailable_responses_total")}
    assert causes and causes <= {"ConnectionError", "TimeoutError", "ConnectionInterrupted"}


@pytest.mark.stack
def test_stop_leaves_no_process_namespace_or_file_outside_the_run_folder(stack):
    data = stack.run_dir / "prometheus" / "data"
    assert any(data.iterdir()), "Prometheus keeps its data in the run folder"
    groups = [part.child.pid for part in [*stack.servers, *stack.stores, *stack.monitors]] + [stack.nginx.pid]
    postgres_root = next(store.root for store in stack.stores if store.role == "postgres")
    tag = stack.network.tag

    stack.stop()

    assert [pid for group in groups for pid in process_group(group)] == []
    assert not any(os.path.exists(f"/proc/{pid}") for pid in groups)
    assert f"shop-{tag}-" not in ip("netns", "list")
    assert not postgres_root.exists()  # the one folder outside it, deleted
    assert not data.exists()
    assert stack.run_dir.exists()
