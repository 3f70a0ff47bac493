"""The shop's topology on one machine: N gunicorn servers behind nginx, stores on demand.

``Stack`` is the one object that ``manage.py runstack`` and the tests use::

    with Stack(profile="cache", servers=3, port=0, run_dir=tmp) as stack:
        urlopen(stack.url + "lab/probe")
        stack.kill("server2")        # the stack notices and starts it again
        stack.restart()              # every server, one at a time, nginx keeps serving

Children are stopped in order (nginx, servers, stores), and none outlives the stack. Each idea
is a part of its own, mixed into ``Stack``: the stores (``stores.py``), nginx's rotation and
rolling restarts (``rotation.py``), the supervisor (``supervisor.py``), the status
(``status.py``), faults (``faults.py``), manage.py (``runner.py``) and live operations
(``live.py``).
"""

import os
import shlex
import sys
import threading
from pathlib import Path

from django.conf import settings

from shop.core.profiles import DEFAULT, PROFILES, needing_redis

from .children import Console, StackError, free_ports, port_is_free, wait_until
from .faults import Faults
from .hosts import Network
from .keys import KeyRing
from .live import LiveOperations
from .monitoring import Monitoring
from .nginx import BALANCES, nginx_child, self_signed_certificate
from .rotation import Rotation
from .runner import ManagePy
from .servers import Server, healthz
from .status import PID_FILE, STATUS_FILE, StatusReport, stack_pid
from .stores import Stores
from .supervisor import Supervision

DATABASES = ("sqlite", "postgres")
REDIS_MODES = ("single", "sentinel")
DEFAULT_RUN_DIR = settings.BASE_DIR / "run"


def required_programs(profiles, db="sqlite", metrics=False):
    """The system programs that stacks of these profiles run."""
    redis = ["redis-server"] if needing_redis(profiles) else []
    monitors = ["prometheus", "prometheus-redis-exporter", "prometheus-nginx-exporter"] if metrics else []
    monitors += ["prometheus-postgres-exporter"] if metrics and db == "postgres" else []
    return ["nginx", *redis, *(["initdb", "postgres"] if db == "postgres" else []), *monitors]


class Stack(Stores, Monitoring, Rotation, Supervision, StatusReport, Faults, ManagePy, LiveOperations):
    def __init__(
        self,
        profile=DEFAULT,
        servers=3,
        workers=2,
        port=8000,
        balance="round_robin",
        db="sqlite",
        run_dir=None,
        env=None,
        setup_commands=(),
        out=None,
        tls=False,
        hosts=False,
        redis="single",
        metrics=False,
    ):
        """``port=0`` picks a free port; ``env`` adds to os.environ for every child;
        ``setup_commands`` are manage.py command lines run after migrate (``"seed_catalog
        --if-empty"``); ``out`` receives the prefixed log (default: stdout). ``tls``: nginx
        serves HTTPS only, with a self-signed certificate (``certificate``), and the servers
        run in hardened mode (SHOP_SECURE=1). ``hosts``: every server and store on a simulated
        host of its own (``hosts.Network``); ``redis="sentinel"``: the Redis profiles' Redis is a
        primary, two replicas and three Sentinels, reached through Sentinel. ``metrics``: Prometheus
        and the exporters too (``monitoring.py``), on a host of their own with ``hosts``."""
        choices = {"profile": PROFILES, "balance": BALANCES, "db": DATABASES, "redis": REDIS_MODES}
        for (option, allowed), value in zip(choices.items(), (profile, balance, db, redis), strict=True):
            if value not in allowed:
                raise StackError(f"unknown {option} {value!r}; choose one of {', '.join(allowed)}")
        if servers < 1 or workers < 1:
            raise StackError("a stack needs at least one server with at least one worker")
        self.profile, self.server_count, self.workers = profile, servers, workers
        self.port, self.balance, self.db, self.tls, self.redis = port, balance, db, tls, redis
        self.run_dir = Path(run_dir or DEFAULT_RUN_DIR).resolve()
        self.network = Network(self.run_dir) if hosts else None
        self.certificate = self._tls_key = None  # with tls: the certificate clients trust, its key
        self.keys = KeyRing(self.run_dir)
        self.session_fallbacks = []  # earlier profiles whose stores the servers still read (live.py)
        self.console = Console(out or sys.stdout)
        self.base_env = {**os.environ, **(env or {})}
        self.setup_commands = [shlex.split(line) for line in setup_commands]
        self.env = None  # what the servers run with, once started
        self.servers, self.stores, self.nginx = [], [], None
        self.metrics, self.monitors = metrics, []  # Prometheus and the exporters, with --metrics
        self.nginx_status = self._metrics_host = None  # where nginx serves stub_status, with --metrics
        self.failure = None  # why the stack stopped itself, if it did
        self.stopped = threading.Event()  # set once every child is stopped
        self._lock = threading.RLock()
        self._nginx_lock = threading.RLock()  # the servers' rotation flags, and nginx.conf made of them
        self._stopping = False
        self._pid_file = None
        self._monitor = None
        self._dead_since = {}  # Redis group members that died: when the monitor saw it (supervisor.py)
        self._catching_up = set()  # Redis group members revived, not yet promotable (supervisor.py)
        self._store_ports = []  # ports kept for stores a switch of profile may start later

    # Starting ------------------------------------------------------------------------
    def start(self):
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def _start(self):
        self._claim_run_dir()
        if self.port and not port_is_free(self.port):
            raise StackError(f"port {self.port} is already in use on 127.0.0.1; choose another with --port")
        nginx_port, *ports = free_ports(1 + self.server_count + 7)
        self.port = self.port or nginx_port
        if self.network:
            self.network.create()
            ports = [8000] * self.server_count + [6379] * 3 + [26379] * 3 + [5432]
        server_ports, self._store_ports = ports[: self.server_count], ports[self.server_count :]
        hosts = [self._host(f"host{k}") for k in range(1, self.server_count + 1)]
        self.session_fallbacks = self.saved_fallbacks()
        self.env = self._start_stores(self._django_env(), self._store_ports)
        self.env |= self.session_env(self.profile, self.fallback_profiles())
        self.env |= self._plan_metrics()
        static_root = self.env["STATIC_ROOT"]
        self.say(f"collecting static files into {static_root}, then migrating the database ({self.db})")
        for command in self.setup_commands:
            self.say(f"then manage.py {shlex.join(command)}")
        setup = [["collectstatic", "--noinput"], ["migrate", "--noinput"], *self.setup_commands]
        for output in self.manage_all(setup)[2:]:
            for line in output.splitlines():
                self.console.line("manage", line)
        self.servers = [
            Server(
                f"server{k}",
                port,
                self.workers,
                self.env,
                self.console,
                host,
                self.run_dir / "metrics" / f"server{k}",
            )
            for k, (port, host) in enumerate(zip(server_ports, hosts, strict=True), start=1)
        ]
        for server in self.servers:
            server.start()
        for server in self.servers:
            server.wait_serving()
        if self.tls:
            self.certificate, self._tls_key = self_signed_certificate(self.run_dir / "tls")
        self._render_nginx()
        self.nginx = nginx_child(self.run_dir, self.console)
        self.nginx.start()
        wait_until(
            lambda: healthz(self.port, self.certificate), 20, "waiting for /healthz through nginx", self.nginx
        )
        self._start_metrics()
        self.write_status()
        self._monitor = threading.Thread(target=self._watch, name="stack-monitor", daemon=True)
        self._monitor.start()

    def _host(self, name):
        """A new simulated host with ``--hosts``; None (this machine) without."""
        return self.network.add_host(name) if self.network else None

    def _claim_run_dir(self):
        """One stack per run folder: its files (nginx.conf, logs, redis data) are not shareable."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if owner := stack_pid(self.run_dir):
            raise StackError(f"a stack (pid {owner}) already runs from {self.run_dir}; stop it first")
        self._pid_file = self.run_dir / PID_FILE
        self._pid_file.write_text(f"{os.getpid()}\n")

    def _django_env(self):
        env = dict(self.base_env)
        env["STATIC_ROOT"] = str(self.run_dir / "static")
        env |= self.own_key_env()
        env["PYTHONUNBUFFERED"] = "1"  # children's lines reach the console as they are written
        if self.tls:
            env["SHOP_SECURE"] = "1"  # hardened mode: secure __Host- cookies, HSTS, SSL redirect
        if self.network:  # nginx reaches the hosts from the bridge's address, not from 127.0.0.1
            env["SHOP_BALANCER_ADDRESS"] = env["SHOP_TRUSTED_PROXIES"] = self.network.balancer_address
        return env

    # Running -------------------------------------------------------------------------
    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/"

    def say(self, text):
        self.console.line("stack", text)

    def server(self, which):
        """A server by name (``"server2"``) or by number (``2``)."""
        name = f"server{which}" if isinstance(which, int) else which
        for server in self.servers:
            if server.name == name:
                return server
        raise StackError(f"no server {which!r}; this stack has {', '.join(s.name for s in self.servers)}")

    def in_full_health(self):
        """Every server serving and in nginx's rotation, as after its start. Read under the lock the
        rotation flags change under, which is held until nginx has followed them: a server whose
        flag says "back in" is in nginx's rotation too."""
        with self._nginx_lock:
            return self.failure is None and all(
                server.serving and server.ready and not (server.restarting or server.draining)
                for server in self.servers
            )

    def pids(self):
        """Every live process of the stack, by child name (for checks that none is left)."""
        parts = [*self.servers, *self.stores, *self.monitors]
        children = [self.nginx, *(part.child for part in parts)]
        return {child.name: child.pids() for child in children if child and child.popen}

    # Stopping ------------------------------------------------------------------------
    def stop(self):
        """Stop the monitors, nginx (no new requests), then the servers, then the stores. Idempotent."""
        with self._lock:
            already, self._stopping = self._stopping, True
        if already:
            self.stopped.wait()
            return
        self.say("stopping nginx, then the servers, then the stores")
        self._stop_metrics()
        if self.nginx:
            self.nginx.stop()
        for server in self.servers:  # all at once: each takes a second to wind down
            server.child.terminate()
        for server in self.servers:
            server.child.stop()
        self.remember_redis_primary()
        for store in reversed(self.stores):
            store.stop()
        if self.network:
            self.network.remove()
        (self.run_dir / STATUS_FILE).unlink(missing_ok=True)
        if self._pid_file:
            self._pid_file.unlink(missing_ok=True)
        self.stopped.set()
        if self._monitor and self._monitor is not threading.current_thread():
            self._monitor.join()
