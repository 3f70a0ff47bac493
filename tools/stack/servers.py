"""A gunicorn server of the stack, and the health check that says it serves."""

import http.client
import shutil
import ssl
import sys
from pathlib import Path

from django.conf import settings

from shop.core.profiles import profile

from .children import Child, wait_until

GUNICORN_CONFIG = settings.BASE_DIR / "config" / "gunicorn.conf.py"


def get(port, path, certificate=None, address="127.0.0.1", timeout=2):
    """(status, body) of ``GET path`` from whoever listens on ``address:port``, None without an
    answer; over HTTPS, trusting ``certificate``, when one is given."""
    if certificate:
        context = ssl.create_default_context(cafile=certificate)
        connection = http.client.HTTPSConnection(address, port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        # A host's own address is not in ALLOWED_HOSTS: ask by the name nginx passes on.
        connection.request("GET", path, headers={"Host": "127.0.0.1"})
        response = connection.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):  # refused, timed out, cut off mid-answer
        return None
    finally:
        connection.close()


def healthz(port, certificate=None, address="127.0.0.1", path="/healthz", body=b"ok"):
    """True when whoever listens on ``address:port`` answers ``GET /healthz`` with 200 ``ok``."""
    return get(port, path, certificate, address) == (200, body)


class Server:
    """One gunicorn server: a name, a port it keeps across restarts, the process serving it."""

    def __init__(self, name, port, workers, env, console, host=None, metrics_dir=None):
        """``host``: the simulated host (``hosts.Host``) it runs on, with ``--hosts``. ``metrics_dir``:
        the folder its workers keep their Prometheus metrics in (shop/core/metrics.py), emptied at
        every start, so that /metrics sums this server's workers since it started."""
        self.name, self.port, self.host = name, port, host
        self.address = host.address if host else "127.0.0.1"
        self.metrics_dir = metrics_dir
        env = {**env, "SHOP_SERVER_NAME": name}
        if metrics_dir:
            env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        if host:
            # What a host keeps on its own disk: file sessions (the file profile) and temp files.
            env |= {"SHOP_HOST_NAME": host.name, "TMPDIR": host.folder}
        gunicorn = [sys.executable, "-m", "gunicorn", "-c", GUNICORN_CONFIG]
        argv = [*gunicorn, "--bind", f"{self.address}:{port}", "--workers", str(workers)]
        self.child = Child(name, argv, console, env={}, cwd=settings.BASE_DIR, host=host)
        self.update_env(env)
        self.restarting = False  # set by restart(): the monitor leaves the server alone meanwhile
        self.draining = False  # out of nginx's rotation while restart() stops and starts it
        self.ready = True  # reaches its stores (/readyz); out of nginx's rotation while not
        self.serving = False  # answered /healthz since it last started
        self.failed_starts = 0  # exits in a row before it served

    def update_env(self, changes):
        """Change the variables it runs with from its next start; on a host, file sessions stay in
        the host's own folder."""
        env = {**self.child.env, **changes}
        # live.py lists the profiles a server reads and writes sessions with.
        profiles = [profile(name) for name in env["SHOP_SESSION_PROFILES"].split(",")]
        if self.host and any(p.on_host_disk for p in profiles):
            sessions = Path(self.host.folder) / "sessions"
            sessions.mkdir(exist_ok=True)
            env["SESSION_FILE_PATH"] = str(sessions)
        self.child.env = env

    @property
    def pid(self):
        """The gunicorn master's pid; X-Served-By names the worker's."""
        return self.child.pid

    @property
    def worker_pids(self):
        return [pid for pid in self.child.pids() if pid != self.pid]

    def answers(self):
        return healthz(self.port, address=self.address)

    def is_ready(self):
        return healthz(self.port, address=self.address, path="/readyz", body=b"ready")

    def start(self):
        self.serving = False
        if self.metrics_dir:
            shutil.rmtree(self.metrics_dir, ignore_errors=True)
            self.metrics_dir.mkdir(parents=True)
        self.child.start()

    def wait_serving(self):
        what = f"waiting for {self.name} to answer /healthz on {self.address}:{self.port}"
        wait_until(self.answers, 60, f"{what} (is 127.0.0.1 in ALLOWED_HOSTS?)", self.child)
        self.serving = True
