"""Private session stores started on demand: a redis-server and a throwaway PostgreSQL cluster.

Both are usable on their own (``with RedisServer(folder) as redis: redis.url``), as the
tests do, and by the stack.
"""

import ipaddress
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import redis

from .children import Child, Console, StackError, command, find_binary, free_ports, wait_until


class Service:
    """A store in a child process; a context manager that starts and stops it."""

    child = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def stop(self):
        if self.child:
            self.child.stop()


class RedisServer(Service):
    """redis-server with its data in ``folder``, on 127.0.0.1 or on a simulated ``host``.

    Append-only persistence keeps the sessions of the ``cache`` profile across a full stop and
    start of the stack, like the SECRET_KEY kept in the same run folder. ``replica_of``: the
    (address, port) of the primary it replicates.
    """

    role = "redis-primary"

    def __init__(
        self, folder, port=None, console=None, host=None, name="redis", replica_of=None, min_replicas=0
    ):
        self.folder, self.name, self.host = Path(folder), name, host
        self.min_replicas = min_replicas
        self.address = host.address if host else "127.0.0.1"
        self.port = port or free_ports(1)[0]
        if replica_of:
            self.role = "redis-replica"
        self.child = Child(name, [], console or Console(sys.stderr), host=host)
        self.follow(replica_of)

    def follow(self, replica_of, promotable=True):
        """From its next start, replicate the primary at ``replica_of`` (None: be a primary); one not
        ``promotable`` (replica-priority 0) is never made the primary by Sentinel. The status asks
        the Sentinels who is the primary now, so ``role`` stays what it was at start."""
        redis_server = find_binary("redis-server", needed="for the cache and cached_db profiles")
        self.replica_of = replica_of
        self.child.argv = [redis_server, *self.options(replica_of)]
        if not promotable:
            self.child.argv += ["--replica-priority", "0"]

    def options(self, replica_of):
        options = ["--bind", self.address, "--port", str(self.port), "--dir", str(self.folder)]
        options += ["--save", "", "--appendonly", "yes", "--daemonize", "no", "--logfile", ""]
        options += ["--loglevel", "warning", "--protected-mode", "no"]  # only our hosts reach it
        options += ["--repl-diskless-sync-delay", "0"]  # a replica (re)joining syncs at once
        if self.min_replicas:
            # A member of a group takes a write, as its primary, only while every replica is
            # online and acknowledged the stream within 2 s; a replica that is not in sync answers
            # no reads. WAIT already kept the shop from acknowledging a write some replica lacked,
            # but the write itself landed, and the next reads showed it: when Sentinel promoted
            # another member (after a kill, or falsely, a second after the last failover, on a
            # loaded machine), the cart went back to before it. Here the primary that lost a
            # replica refuses at once, so no two members take writes the other never sees, and a
            # stale connection to a member that is resyncing gets an error (a 503), not old data.
            options += ["--min-replicas-to-write", str(self.min_replicas), "--min-replicas-max-lag", "2"]
            options += ["--replica-serve-stale-data", "no"]
        return options + (["--replicaof", *map(str, replica_of)] if replica_of else [])

    def forget_data(self):
        """Delete its data files (append-only file, snapshot): it starts empty and copies a primary's
        whole data set."""
        shutil.rmtree(self.folder / "appendonlydir", ignore_errors=True)
        (self.folder / "dump.rdb").unlink(missing_ok=True)

    def in_sync(self):
        """A replica holding all of its primary's data: linked to it, and neither loading nor syncing."""
        try:
            with self.client() as client:
                info = client.info("replication")
        except redis.RedisError:
            return False
        linked = info.get("role") == "slave" and info.get("master_link_status") == "up"
        return linked and not info.get("master_sync_in_progress")

    def make_promotable(self):
        """Let Sentinel promote it again (Redis's default replica-priority), now and after a restart."""
        with self.client() as client:
            client.config_set("replica-priority", 100)
        self.follow(self.replica_of)

    @property
    def url(self):
        return f"redis://{self.address}:{self.port}/0"

    def client(self):
        return redis.Redis(host=self.address, port=self.port, socket_timeout=1)

    def _answers(self):
        try:
            with self.client() as client:
                return client.ping()
        except redis.exceptions.MasterDownError:
            return True  # up: a group's replica whose primary is not (yet) there serves no data
        except redis.RedisError:
            return False

    def start(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        self.child.start()
        wait_until(self._answers, 10, f"waiting for {self.name} to answer PING", self.child)

    def replicas_online(self):
        """How many replicas are in sync with this primary (INFO replication)."""
        with self.client() as client:
            info = client.info("replication")
        return sum(value["state"] == "online" for key, value in info.items() if key.startswith("slave"))


class RedisSentinel(RedisServer):
    """A Redis Sentinel watching the primary of the sessions' Redis group, named ``SERVICE``."""

    role = "sentinel"
    SERVICE = "shop"

    def __init__(self, folder, port=None, console=None, host=None, name="sentinel", primary=None):
        self.primary = primary
        super().__init__(folder, port, console, host, name)

    def options(self, replica_of):
        """The rest is in sentinel.conf, which ``start`` writes."""
        return [str(self.folder / "sentinel.conf"), "--sentinel"]

    def start(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / "sentinel.conf"
        # Written anew at every start of the stack: what Sentinel wrote into it last time names the
        # ports and the primary of the last run. (The supervisor restarts a dead Sentinel's process
        # without this method, so it keeps what it learnt.)
        address, port = self.primary
        conf.write_text(
            f"bind {self.address}\nport {self.port}\ndir {self.folder}\nprotected-mode no\n"
            f"sentinel monitor {self.SERVICE} {address} {port} 2\n"
            # A primary silent for a second is down; a failover that stalls is retried after 3 s.
            f"sentinel down-after-milliseconds {self.SERVICE} 1000\n"
            f"sentinel failover-timeout {self.SERVICE} 3000\n"
        )
        super().start()

    @classmethod
    def ask_primary(cls, address, port):
        """(address, port) of the primary the Sentinel at ``address:port`` names now, or None."""
        try:
            with redis.Redis(host=address, port=port, socket_timeout=1, decode_responses=True) as client:
                primary = client.sentinel_get_master_addr_by_name(cls.SERVICE)
        except redis.RedisError:
            return None
        return (primary[0], int(primary[1])) if primary else None


class PostgresCluster(Service):
    """A throwaway cluster: created in a fresh temporary folder at start, deleted at stop.

    The folder is outside the run folder because, when we are root, the cluster runs as the
    ``postgres`` user (initdb refuses root), who may not be able to reach a private run
    folder such as pytest's. It listens on 127.0.0.1 only, with a random password.
    """

    DATABASE = "shop"

    role = "postgres"
    name = "postgres"

    def __init__(self, port=None, console=None, host=None):
        """``host``: the simulated host it runs on; it then accepts the hosts' network too."""
        self.host = host
        self.address = host.address if host else "127.0.0.1"
        self.console = console or Console(sys.stderr)
        self.initdb = find_binary("initdb", needed="for --db postgres (Debian package postgresql)")
        # The server of the same installation as initdb (PATH may hold links to one version).
        self.postgres = str(Path(self.initdb).resolve().with_name("postgres"))
        self.run_as = "postgres" if os.geteuid() == 0 else None
        self.port = port or free_ports(1)[0]
        self.password = secrets.token_urlsafe(24)
        self.root = None

    def url(self, database=DATABASE):
        return f"postgres://shop:{self.password}@{self.address}:{self.port}/{database}"

    def start(self):
        self.root = Path(tempfile.mkdtemp(prefix="shop-postgres-"))
        password_file = self.root / "password"
        password_file.write_text(self.password)
        if self.run_as:
            shutil.chown(self.root, self.run_as, self.run_as)
            shutil.chown(password_file, self.run_as, self.run_as)
        data = self.root / "data"
        options = f"-U shop --auth=scram-sha-256 --pwfile={password_file} -E UTF8 --no-locale --no-sync"
        initdb = [self.initdb, "-D", data, *options.split()]
        result = subprocess.run(command(initdb, self.run_as), cwd=self.root, capture_output=True, text=True)
        if result.returncode:
            raise StackError(f"initdb failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        if self.host:  # the servers connect from their own hosts' addresses, with the password
            with open(data / "pg_hba.conf", "a") as hba:
                network = ipaddress.ip_interface(f"{self.host.address}/24").network
                hba.write(f"host all all {network} scram-sha-256\n")
        argv = [self.postgres, "-D", data, "-h", self.address, "-p", str(self.port), "-k", self.root]
        argv += ["-c", "log_checkpoints=off"]
        # SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to disconnect.
        options = {"cwd": self.root, "run_as": self.run_as, "stop_signal": signal.SIGINT, "host": self.host}
        self.child = Child(self.name, argv, self.console, **options)
        self.child.start()
        wait_until(self._answers, 30, "waiting for PostgreSQL to accept connections", self.child)
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {self.DATABASE}")

    def _answers(self):
        try:
            psycopg.connect(self.url("postgres"), connect_timeout=1).close()
        except psycopg.OperationalError:
            return False
        return True

    def stop(self):
        super().stop()
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)
