"""Private session stores started on demand: a redis-server and a throwaway PostgreSQL cluster.

Both are usable on their own (``with RedisServer(folder) as redis: redis.url``), as the
tests do, and by the stack.
"""

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


def binary(name, purpose):
    path = find_binary(name)
    if path is None:
        raise StackError(f"{name} is needed {purpose} but was not found; install it (make system-deps)")
    return path


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
    """redis-server on 127.0.0.1, with its data in ``folder``.

    Append-only persistence keeps the sessions of the ``cache`` profile across a full stop and
    start of the stack, like the SECRET_KEY kept in the same run folder.
    """

    def __init__(self, folder, port=None, console=None):
        self.folder = Path(folder)
        self.port = port or free_ports(1)[0]
        argv = [
            binary("redis-server", "for the cache and cached_db profiles"),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.folder),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--daemonize",
            "no",
            "--logfile",
            "",
            "--loglevel",
            "warning",
        ]
        self.child = Child("redis", argv, console or Console(sys.stderr))

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def _answers(self):
        try:
            return redis.Redis(port=self.port, socket_timeout=1).ping()
        except redis.ConnectionError:
            return False

    def start(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        self.child.start()
        wait_until(self._answers, 10, "waiting for redis to answer PING", self.child)


class PostgresCluster(Service):
    """A throwaway cluster: created in a fresh temporary folder at start, deleted at stop.

    The folder is outside the run folder because, when we are root, the cluster runs as the
    ``postgres`` user (initdb refuses root), who may not be able to reach a private run
    folder such as pytest's. It listens on 127.0.0.1 only, with a random password.
    """

    DATABASE = "shop"

    def __init__(self, port=None, console=None):
        self.console = console or Console(sys.stderr)
        self.initdb = binary("initdb", "for --db postgres (Debian package postgresql)")
        # The server of the same installation as initdb (PATH may hold links to one version).
        self.postgres = str(Path(self.initdb).resolve().with_name("postgres"))
        self.run_as = "postgres" if os.geteuid() == 0 else None
        self.port = port or free_ports(1)[0]
        self.password = secrets.token_urlsafe(24)
        self.root = None

    def url(self, database=DATABASE):
        return f"postgres://shop:{self.password}@127.0.0.1:{self.port}/{database}"

    def start(self):
        self.root = Path(tempfile.mkdtemp(prefix="shop-postgres-"))
        password_file = self.root / "password"
        password_file.write_text(self.password)
        if self.run_as:
            shutil.chown(self.root, self.run_as, self.run_as)
            shutil.chown(password_file, self.run_as, self.run_as)
        data = self.root / "data"
        initdb = [
            self.initdb,
            "-D",
            str(data),
            "-U",
            "shop",
            "--auth=scram-sha-256",
            f"--pwfile={password_file}",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ]
        result = subprocess.run(command(initdb, self.run_as), cwd=self.root, capture_output=True, text=True)
        if result.returncode:
            raise StackError(f"initdb failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        argv = [
            self.postgres,
            "-D",
            str(data),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-k",
            str(self.root),
            "-c",
            "log_checkpoints=off",
        ]
        # SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to disconnect.
        self.child = Child(
            "postgres", argv, self.console, cwd=self.root, run_as=self.run_as, stop_signal=signal.SIGINT
        )
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
