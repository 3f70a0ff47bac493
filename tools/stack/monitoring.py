"""``runstack --metrics``: a real Prometheus, and the exporters of the parts the stack runs.

Prometheus scrapes every server's ``/metrics`` (on the server's own address: nginx's public port
answers 404 for it), Redis (each server and Sentinel, through one redis_exporter in its multi-target
mode), nginx (nginx_exporter, reading a stub_status nginx serves on an address and port of its own)
and PostgreSQL (postgres_exporter), every ``SCRAPE_INTERVAL``. They run in the foreground like every
other child, with their configuration and data in ``RUN_DIR/prometheus`` (the data deleted at start
and at stop: the graphs are about this run), and with ``--hosts`` on a host of their own,
``metrics``. The servers learn Prometheus's URL (SHOP_PROMETHEUS_URL) for the lab's graphs.
"""

import http.client
import json
import shutil
import signal

from .children import Child, find_binary, free_ports, wait_until
from .services import PostgresCluster, RedisServer, Service

SCRAPE_INTERVAL = "1s"
# Ports with --hosts, where every part has an address of its own: each program's usual one.
USUAL_PORTS = {"prometheus": 9090, "redis-exporter": 9121, "nginx-exporter": 9113, "postgres-exporter": 9187}
RETENTION = "2h"  # a 1 s scrape of a few thousand series: tens of MB an hour


def answers(address, port, path):
    """True when ``GET path`` on ``address:port`` answers 200."""
    connection = http.client.HTTPConnection(address, port, timeout=2)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


class Monitor(Service):
    """Prometheus or an exporter: a part of the status (``role``), ready when ``ready_path`` answers."""

    def __init__(self, name, role, argv, address, port, console, host, ready_path="/metrics", env=None):
        self.name, self.role, self.address, self.port, self.host = name, role, address, port, host
        self.ready_path = ready_path
        # Only what it is given: the exporters also read variables of their own (REDIS_PASSWORD, ...).
        self.child = Child(name, argv, console, env=env or {}, host=host)

    def answers(self):
        return answers(self.address, self.port, self.ready_path)

    def start(self):
        self.child.start()
        wait_until(self.answers, 30, f"waiting for {self.name} to answer {self.ready_path}", self.child)


class Monitoring:
    """Mixed into ``Stack``: plan where Prometheus listens before the servers start (they learn its
    URL), start it and the exporters once nginx serves, keep its targets current."""

    def _plan_metrics(self):
        """Where the monitors will listen; the variables that tell the servers. Nothing without --metrics."""
        if not self.metrics:
            return {}
        self._metrics_host = self._host("metrics")
        address = self._metrics_host.address if self._metrics_host else "127.0.0.1"
        ports = USUAL_PORTS.values() if self._metrics_host else free_ports(len(USUAL_PORTS))
        self._metrics_at = {name: (address, port) for name, port in zip(USUAL_PORTS, ports, strict=True)}
        # With --hosts nginx stays on the machine: its stub_status on the bridge reaches the metrics host.
        self.nginx_status = (self.network.balancer_address if self.network else "127.0.0.1", free_ports(1)[0])
        return {"SHOP_PROMETHEUS_URL": self.prometheus_url}

    @property
    def prometheus_url(self):
        address, port = self._metrics_at["prometheus"]
        return f"http://{address}:{port}/"

    @property
    def _metrics_folder(self):
        return self.run_dir / "prometheus"

    def _start_metrics(self):
        """The exporters of the parts this stack runs, then Prometheus (after nginx: nginx_exporter
        gives up at once on an nginx that does not answer)."""
        if not self.metrics:
            return
        shutil.rmtree(self._metrics_folder, ignore_errors=True)
        (self._metrics_folder / "data").mkdir(parents=True)
        self._start_exporter("nginx-exporter", [f"--nginx.scrape-uri={self._stub_status_url()}"])
        postgres = next((s for s in self.stores if isinstance(s, PostgresCluster)), None)
        if postgres:
            env = {"DATA_SOURCE_NAME": f"{postgres.url()}?sslmode=disable"}
            self._start_exporter("postgres-exporter", ["--log.level=warn"], env)
        self._start_redis_exporter()
        self._write_prometheus_config()
        address, port = self._metrics_at["prometheus"]
        folder = self._metrics_folder
        argv = [
            find_binary("prometheus", needed="for --metrics (Debian package prometheus)"),
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--storage.tsdb.retention.time={RETENTION}",
            f"--web.listen-address={address}:{port}",
            "--log.level=warn",
            # Targets are first scraped after this (default 5 s): a test or a person looks sooner.
            "--scrape.discovery-reload-interval=500ms",
        ]
        prometheus = Monitor(
            "prometheus", "prometheus", argv, address, port, self.console, self._metrics_host, "/-/ready"
        )
        self._start_monitor(prometheus)
        wait_until(self._scraping, 30, "waiting for Prometheus to scrape every target", prometheus.child)

    def _scraping(self):
        """Prometheus has scraped every target it was given at least once (``/api/v1/targets``)."""
        address, port = self._metrics_at["prometheus"]
        connection = http.client.HTTPConnection(address, port, timeout=2)
        try:
            connection.request("GET", "/api/v1/targets?state=active")
            targets = json.loads(connection.getresponse().read())["data"]["activeTargets"]
        except (OSError, ValueError, KeyError):
            return False
        finally:
            connection.close()
        configs = [group for job in self.scrape_config()["scrape_configs"] for group in job["static_configs"]]
        wanted = sum(len(group["targets"]) for group in configs)
        return len(targets) == wanted and all(target["health"] != "unknown" for target in targets)

    def _start_exporter(self, name, options, env=None):
        """``prometheus-<name>``, listening where ``_plan_metrics`` said."""
        address, port = self._metrics_at[name]
        program = find_binary(
            f"prometheus-{name}", needed=f"for --metrics (Debian package prometheus-{name})"
        )
        # Go's flag package takes --name=value as well as -name, as kingpin (postgres_exporter) wants.
        argv = [program, *options, f"--web.listen-address={address}:{port}"]
        self._start_monitor(
            Monitor(name, "exporter", argv, address, port, self.console, self._metrics_host, env=env)
        )

    def _start_redis_exporter(self):
        """One exporter for every Redis and Sentinel (multi-target: Prometheus names each), once there is
        one: at start, or when a switch of profile starts Redis."""
        has_exporter = any(m.name == "redis-exporter" for m in self.monitors)
        if not has_exporter and any(isinstance(s, RedisServer) for s in self.stores):
            self._start_exporter("redis-exporter", ["--redis.addr="])  # no default target

    def _start_monitor(self, monitor):
        self.monitors.append(monitor)
        monitor.start()
        self.say(f"{monitor.name} ({monitor.role}) started on {monitor.address}:{monitor.port}")

    def _stub_status_url(self):
        address, port = self.nginx_status
        return f"http://{address}:{port}/stub_status"

    def scrape_config(self):
        """Prometheus's configuration (JSON is YAML) for the parts running now."""
        every = {"scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": SCRAPE_INTERVAL}
        servers = [{"targets": [f"{s.address}:{s.port}"], "labels": {"server": s.name}} for s in self.servers]
        redis = [
            {"targets": [f"redis://{s.address}:{s.port}"], "labels": {"store": s.name}}
            for s in self.stores
            if isinstance(s, RedisServer)  # Sentinels too: the exporter reads both
        ]
        exporters = [
            {"targets": [f"{m.address}:{m.port}"], "labels": {"exporter": m.name}}
            for m in self.monitors
            if m.role == "exporter" and m.name != "redis-exporter"
        ]
        jobs = [
            {"job_name": "shop", "static_configs": servers},
            {"job_name": "exporters", "static_configs": exporters},
        ]
        if redis and any(m.name == "redis-exporter" for m in self.monitors):
            exporter = "{}:{}".format(*self._metrics_at["redis-exporter"])
            jobs.append(
                {
                    "job_name": "redis",
                    "metrics_path": "/scrape",
                    "static_configs": redis,
                    # The target is the Redis address, passed to the exporter as ?target=.
                    "relabel_configs": [
                        {"source_labels": ["__address__"], "target_label": "__param_target"},
                        {"source_labels": ["__param_target"], "target_label": "instance"},
                        {"target_label": "__address__", "replacement": exporter},
                    ],
                }
            )
        return {
            "global": every | {"evaluation_interval": SCRAPE_INTERVAL},
            "scrape_configs": [job | every for job in jobs],
        }

    def _write_prometheus_config(self):
        """Write prometheus.yml; True when it changed."""
        path = self._metrics_folder / "prometheus.yml"
        text = json.dumps(self.scrape_config(), indent=2) + "\n"
        if path.exists() and path.read_text() == text:
            return False
        path.write_text(text)
        return True

    def refresh_scrape_targets(self):
        """After a part started again or a switch started Redis: Prometheus reloads its targets (SIGHUP)."""
        prometheus = next((m for m in self.monitors if m.role == "prometheus"), None)
        if prometheus:
            self._start_redis_exporter()
        if prometheus and self._write_prometheus_config():
            prometheus.child.signal(signal.SIGHUP)

    def _stop_metrics(self):
        for monitor in reversed(self.monitors):
            monitor.stop()
        if self.metrics:
            shutil.rmtree(self._metrics_folder / "data", ignore_errors=True)
