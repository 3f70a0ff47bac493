"""The shop's topology on one machine: N gunicorn servers behind nginx, stores on demand.

``Stack`` is the one object that ``manage.py runstack`` and the tests use::

    with Stack(profile="cache", servers=3, port=0, run_dir=tmp) as stack:
        urlopen(stack.url + "lab/probe")
        stack.kill("server2")        # the stack notices and starts it again
        stack.restart()              # every server, one at a time, nginx keeps serving

Children are stopped in order (nginx, servers, stores), and none outlives the stack.
"""

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings

from shop.core.profiles import DEFAULT, PROFILES, needing_redis

from .children import Console, StackError, free_ports, port_is_free, wait_until
from .hosts import Network, set_link, set_route
from .keys import KeyRing
from .live import LiveOperations
from .nginx import BALANCES, nginx_child, render_config, self_signed_certificate
from .servers import Server, healthz
from .services import PostgresCluster, RedisSentinel, RedisServer

DATABASES = ("sqlite", "postgres")
REDIS_MODES = ("single", "sentinel")
DEFAULT_RUN_DIR = settings.BASE_DIR / "run"
END_OF_COMMAND = "\x1e"  # ASCII's record separator, after each command's output
# manage.py's main() for each command in argv[1] (JSON), in one process (run in BASE_DIR).
MANAGE_ALL = f"""
import json, sys
import manage
for argv in json.loads(sys.argv[1]):
    sys.argv = ["manage.py", *argv]
    manage.main()
    print(end={END_OF_COMMAND!r}, flush=True)
"""


def required_programs(profiles, db="sqlite"):
    """The system programs that stacks of these profiles run."""
    redis = ["redis-server"] if needing_redis(profiles) else []
    return ["nginx", *redis, *(["initdb", "postgres"] if db == "postgres" else [])]


PID_FILE = "stack.pid"
STATUS_FILE = "status.json"
PART_FIELDS = ("name", "role", "pid", "host", "address", "port")  # of each part in the status


def current_roles(parts):
    """``parts`` with the Redis group's roles as its Sentinels see them now (after a failover the
    promoted replica is the primary)."""
    for sentinel in (p for p in parts if p["role"] == "sentinel"):
        primary = RedisSentinel.ask_primary(sentinel["address"], sentinel["port"])
        if primary:
            for part in parts:
                if part["role"] in ("redis-primary", "redis-replica"):
                    is_primary = (part["address"], part["port"]) == primary
                    part["role"] = "redis-primary" if is_primary else "redis-replica"
            break
    return parts


def stack_pid(run_dir):
    """The pid of the live process that runs a stack from ``run_dir`` (``PID_FILE``), or None."""
    try:
        pid = int((Path(run_dir) / PID_FILE).read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid


def running_status(run_dir):
    """The status of the stack running from ``run_dir``, or None when none runs there."""
    if stack_pid(run_dir) is None:
        return None
    try:
        status = json.loads((Path(run_dir) / STATUS_FILE).read_text())
    except (FileNotFoundError, ValueError):  # starting, or stopping
        return None
    status["parts"] = current_roles(status["parts"])
    return status


# A server that dies this many times in a row before ever answering /healthz is broken (an
# import error, say): restarting it forever would hide that. Killing a serving one is not.
CRASH_LIMIT = 3
READINESS_INTERVAL = 1.0  # seconds between /readyz checks of every server
# A dead Redis group member is started again after this long: Sentinel has failed over by then
# (down-after 1 s), so it comes back as a replica, not as a second primary.
REDIS_RESTART_DELAY = 8.0


class Stack(LiveOperations):
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
    ):
        """``port=0`` picks a free port; ``env`` adds to os.environ for every child;
        ``setup_commands`` are manage.py command lines run after migrate (``"seed_catalog
        --if-empty"``); ``out`` receives the prefixed log (default: stdout). ``tls``: nginx
        serves HTTPS only, with a self-signed certificate (``certificate``), and the servers
        run in hardened mode (SHOP_SECURE=1). ``hosts``: every server and store on a simulated
        host of its own (``hosts.Network``); ``redis="sentinel"``: the Redis profiles' Redis is a
        primary, two replicas and three Sentinels, reached through Sentinel."""
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
        self.failure = None  # why the stack stopped itself, if it did
        self.stopped = threading.Event()  # set once every child is stopped
        self._lock = threading.RLock()
        self._nginx_lock = threading.Lock()
        self._stopping = False
        self._pid_file = None
        self._monitor = None
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
        static_root = self.env["STATIC_ROOT"]
        self.say(f"collecting static files into {static_root}, then migrating the database ({self.db})")
        for command in self.setup_commands:
            self.say(f"then manage.py {shlex.join(command)}")
        setup = [["collectstatic", "--noinput"], ["migrate", "--noinput"], *self.setup_commands]
        for output in self.manage_all(setup)[2:]:
            for line in output.splitlines():
                self.console.line("manage", line)
        self.servers = [
            Server(f"server{k}", port, self.workers, self.env, self.console, host)
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
        self.write_status()
        self._monitor = threading.Thread(target=self._watch, name="stack-monitor", daemon=True)
        self._monitor.start()

    def _host(self, name):
        """A new simulated host with ``--hosts``; None (this machine) without."""
        return self.network.add_host(name) if self.network else None

    def _render_nginx(self):
        tls = (self.certificate, self._tls_key) if self.tls else None
        render_config(self.run_dir, self.port, self.servers, self.balance, tls)

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

    def _start_stores(self, env, ports):
        """Redis when a session profile in use needs it (unless REDIS_URL names one), PostgreSQL with
        --db postgres; each on a host of its own with --hosts. ``ports``: 3 for Redis, 3 for
        Sentinels, 1 for PostgreSQL."""
        if needing_redis([self.profile, *self.fallback_profiles()]) and not env.get("REDIS_URL"):
            env |= self._start_redis(ports)
        if self.db == "postgres":
            if env.get("DATABASE_URL"):
                self.say("--db postgres: the servers use the throwaway cluster, not DATABASE_URL")
            postgres = PostgresCluster(ports[6], self.console, self._host("postgres"))
            self._start_store(postgres)
            env["DATABASE_URL"] = postgres.url()
        return env

    def _start_redis(self, ports):
        """The Redis of the Redis profiles (one server, or a Sentinel group); the variables that
        reach it. Data in RUN_DIR/redis, so that sessions survive a full stop and start."""
        folder = self.run_dir / "redis"
        if self.redis == "single":
            redis = RedisServer(folder, ports[0], self.console, self._host("redis"))
            self._start_store(redis)
            return {"REDIS_URL": redis.url}

        def member(kind, name, port, primary_at=None):
            """A replica (or Sentinel) follows the primary at ``primary_at``: (address, port)."""
            return kind(folder / name, port, self.console, self._host(name), name, primary_at)

        primary = member(RedisServer, "redis1", ports[0])
        self._start_store(primary)
        primary_at = (primary.address, primary.port)
        for k in (2, 3):
            self._start_store(member(RedisServer, f"redis{k}", ports[k - 1], primary_at))
        sentinels = [member(RedisSentinel, f"sentinel{k}", ports[2 + k], primary_at) for k in (1, 2, 3)]
        wait_until(lambda: primary.replicas_online() == 2, 30, "waiting for the replicas to sync")
        for sentinel in sentinels:
            self._start_store(sentinel)
        return {
            "REDIS_URL": f"redis://{RedisSentinel.SERVICE}/0",
            "REDIS_SENTINELS": ",".join(f"{s.address}:{s.port}" for s in sentinels),
            # An acknowledged session write is on a replica too, so a failover cannot lose it.
            "SESSION_REDIS_REPLICAS_ACK": self.base_env.get("SESSION_REDIS_REPLICAS_ACK", "1"),
        }

    def _start_store(self, store):
        self.stores.append(store)
        store.start()
        self.say(f"{store.name} ({store.role}) started on {store.address}:{store.port}")

    def manage(self, *args):
        """Run a manage.py command with the servers' settings and database; returns its stdout."""
        return self.manage_all([args])[0]

    def manage_all(self, commands):
        """Run manage.py commands (argument lists) one after the other in one Python process, which
        starts Django once, with the servers' settings and database; returns the stdout of each."""
        result = subprocess.run(
            [sys.executable, "-c", MANAGE_ALL, json.dumps([list(command) for command in commands])],
            env=self.env,
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
        )
        *outputs, rest = result.stdout.split(END_OF_COMMAND)
        if result.returncode or len(outputs) < len(commands):  # (a command that exited early)
            failed = " ".join(commands[len(outputs)])
            raise StackError(f"manage.py {failed} failed:\n{rest}{result.stderr}")
        return outputs

    def python(self, code):
        """Run Python ``code`` with the servers' settings and database; its last line, as JSON."""
        return json.loads(self.manage("shell", "--no-imports", "-c", code).strip().splitlines()[-1])

    # Running -------------------------------------------------------------------------
    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/"

    def say(self, text):
        self.console.line("stack", text)

    def describe(self):
        servers = ", ".join(f"{s.name} :{s.port}" for s in self.servers)
        reading = "".join(f", reading {f['profile']}'s sessions too" for f in self.session_fallbacks)
        return (
            f"{self.url} - profile {self.profile}{reading}, {len(self.servers)} servers x {self.workers} "
            f"workers ({servers}), {self.balance}, db {self.db}"
        )

    def status(self):
        """What runs where, as ``runstack --status`` prints it (DESIGN.md)."""
        machine = socket.gethostname()
        rows = [("nginx", "balancer", self.nginx.pid, machine, "127.0.0.1", self.port)]
        for part, role in [*((s, "server") for s in self.servers), *((s, s.role) for s in self.stores)]:
            host = part.host.name if part.host else machine
            rows.append((part.name, role, part.child.pid, host, part.address, part.port))
        return {
            "profile": self.profile,
            "url": self.url,
            "parts": current_roles([dict(zip(PART_FIELDS, row, strict=True)) for row in rows]),
            "session_fallbacks": self.session_fallbacks,
            "key_id": self.env.get("SHOP_SECRET_KEY_ID") or None,
        }

    def write_status(self):
        (self.run_dir / STATUS_FILE).write_text(json.dumps(self.status(), indent=2) + "\n")

    def server(self, which):
        """A server by name (``"server2"``) or by number (``2``)."""
        name = f"server{which}" if isinstance(which, int) else which
        for server in self.servers:
            if server.name == name:
                return server
        raise StackError(f"no server {which!r}; this stack has {', '.join(s.name for s in self.servers)}")

    def pids(self):
        """Every live process of the stack, by child name (for checks that none is left)."""
        children = [self.nginx, *(s.child for s in self.servers), *(store.child for store in self.stores)]
        return {child.name: child.pids() for child in children if child and child.popen}

    def host(self, name):
        """The simulated host of a server or store (by its name), or a host by its own name."""
        parts = {part.name: part.host for part in [*self.servers, *self.stores] if part.host}
        host = parts.get(name) or (self.network.hosts.get(name) if self.network else None)
        if host is None:
            raise StackError(f"no host for {name!r}: is this a stack with hosts?")
        return host

    def partition(self, name, healed=False):
        """Cut the host of ``name`` off the network (``healed=True``: put it back)."""
        set_link(self.host(name), up=healed)

    def cut_route(self, name, address, healed=False):
        """Cut the host of ``name`` off ``address`` only (a store, say), or restore the route."""
        set_route(self.host(name), address, up=healed)

    def kill(self, server, sig=signal.SIGKILL):
        """Send ``sig`` to every process of one server, as a crash would; the monitor restarts it."""
        self.server(server).child.signal(sig, group=True)

    def restart(self, server=None, env=None, progress=None):
        """Restart one server, or all of them one at a time; nginx serves from the others. Returns
        what it did, in words (``progress``, default ``say``, hears each server's restart).

        ``env`` changes variables of the restarted servers from then on, as a rolling deploy of
        new settings would (a new SECRET_KEY, say); ``self.env`` keeps the start's values. A new
        SECRET_KEY without its SHOP_SECRET_KEY_ID gets the id the run folder knows it by, if any.
        Call it from a thread that lives as long as the stack (see ``children.command``).
        """
        say = progress or self.say
        env = dict(env or {})
        if env.get("SECRET_KEY") and "SHOP_SECRET_KEY_ID" not in env:
            env["SHOP_SECRET_KEY_ID"] = self.keys.id_of(env["SECRET_KEY"])
        targets = self.servers if server is None else [self.server(server)]
        for target in targets:
            with self._lock:
                if self._stopping:
                    raise StackError("the stack is stopping")
                target.restarting = True
            try:
                self._rotate(target, serving=False)
                old_pid = target.pid
                target.child.stop()
                target.update_env(env)
                target.start()
                target.wait_serving()
                say(f"{target.name} restarted (pid {old_pid} -> {target.pid})")
                self.write_status()
            finally:
                target.restarting = False
                if not self._stopping:
                    self._rotate(target, serving=True)
        return f"Restarted {', '.join(target.name for target in targets)}."

    def _rotate(self, server, serving):
        """Take ``server`` out of nginx's rotation (or put it back), and wait until nginx has.

        A graceful stop is not enough on its own: gunicorn's workers stop accepting, and when the
        last one exits the kernel resets the connections nginx had already queued on the port.
        nginx may not pass those requests to another server (a POST may have been processed), so
        each would be a 502. Out of rotation first, nothing is queued there when it stops. nginx
        reloads gracefully: its old workers finish the requests they sent before they exit.
        """
        server.draining = not serving
        self._reload_nginx(f"to take {server.name} {'into' if serving else 'out of'} rotation")

    def _reload_nginx(self, why):
        """Render nginx.conf for the servers' current states; wait until no old nginx worker is left."""
        with self._nginx_lock:
            old_workers = set(self.nginx.pids()) - {self.nginx.pid}
            self._render_nginx()
            self.nginx.signal(signal.SIGHUP)
            wait_until(
                lambda: not old_workers & set(self.nginx.pids()), 45, f"waiting for nginx {why}", self.nginx
            )

    @contextlib.contextmanager
    def store_outage(self, store):
        """Stop ``store`` (a RedisServer of ``stores``) for the block, then start it again.

        The servers see the outage; the monitor, which stops the stack when a store dies, waits
        for the block to end. A RedisServer comes back on its port with the data in its folder.
        """
        with self._lock:
            if self._stopping:
                raise StackError("the stack is stopping")
            store.stop()
            try:
                yield store
            finally:
                store.start()

    def _watch(self):
        """Restart servers that die; stop everything if nginx or a store dies (a member of a Redis
        group comes back instead); keep servers that cannot reach their stores out of rotation."""
        last_readiness = 0
        while not self._stopping:
            time.sleep(0.2)
            if time.monotonic() - last_readiness > READINESS_INTERVAL:
                last_readiness = time.monotonic()
                self._check_readiness()
            try:
                with self._lock:
                    failure = None if self._stopping else self._check_children()
            except Exception as error:  # a failed respawn, say: stop rather than stop watching
                failure = f"the stack's monitor failed: {error!r}"
            if failure:
                self.failure = failure
                self.say(f"FATAL: {failure}; stopping the stack")
                self.stop()
            for server in self.servers:
                back = not (server.serving or server.restarting or self._stopping)
                if back and server.answers():
                    server.serving = True
                    self.say(f"{server.name} is serving again (pid {server.pid})")
        # Servers this thread restarted die with it (parent-death signal): outlive them.
        self.stopped.wait()

    def _check_children(self):
        if self.nginx.exit_code is not None:
            return f"nginx exited unexpectedly ({self.nginx.describe_exit()})"
        for store in self.stores:
            if store.child.exit_code is None:
                store.died = None
                continue
            if self.redis == "single" or not isinstance(store, RedisServer):
                return f"{store.name} exited unexpectedly ({store.child.describe_exit()})"
            # A Redis group survives a member: Sentinel fails over, and the member, started again
            # once that is done, is made a replica of the new primary by Sentinel.
            store.died = getattr(store, "died", None) or time.monotonic()
            if time.monotonic() - store.died > REDIS_RESTART_DELAY:
                self.say(f"{store.name} died ({store.child.describe_exit()}); starting it again")
                store.child.stop()
                store.child.start()
                self.write_status()
        for server in self.servers:
            if server.restarting or server.child.exit_code is None:
                continue
            server.failed_starts = 0 if server.serving else server.failed_starts + 1
            if server.failed_starts >= CRASH_LIMIT:
                return f"{server.name} died {CRASH_LIMIT} times before serving:\n{server.child.tail()}"
            self.say(
                f"{server.name} (pid {server.pid}) died unexpectedly ({server.child.describe_exit()}); "
                f"nginx serves from the others while it starts again on port {server.port}"
            )
            server.child.stop()
            server.start()
            self.write_status()
        return None

    def _check_readiness(self):
        """Servers alive but unable to reach their stores leave nginx's rotation while others can
        serve; when none can (the store every server shares is down), all stay and say 503."""
        candidates = [s for s in self.servers if s.serving and not s.restarting and not s.draining]
        ready = {server.name for server in candidates if server.is_ready()} or {s.name for s in candidates}
        changed = [server for server in candidates if (server.name in ready) != server.ready]
        for server in changed:
            server.ready = server.name in ready
            self.say(
                f"{server.name} {'reaches its stores again' if server.ready else 'cannot reach its stores'}: "
                f"{'back in' if server.ready else 'out of'} nginx's rotation"
            )
        if changed and not self._stopping:
            self._reload_nginx("to follow the servers' readiness")

    # Stopping ------------------------------------------------------------------------
    def stop(self):
        """Stop nginx first (no new requests), then the servers, then the stores. Idempotent."""
        with self._lock:
            already, self._stopping = self._stopping, True
        if already:
            self.stopped.wait()
            return
        self.say("stopping nginx, then the servers, then the stores")
        if self.nginx:
            self.nginx.stop()
        for server in self.servers:  # all at once: each takes a second to wind down
            server.child.terminate()
        for server in self.servers:
            server.child.stop()
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
