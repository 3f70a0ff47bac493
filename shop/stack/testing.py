"""pytest support for tests through the real stack: fixtures, and the cookie-keeping client.

Use it as a plugin (``pytest_plugins = ["shop.stack.testing"]`` in the top-level conftest.py)
or import the fixtures into a conftest. Every stack runs in its own temporary run folder on
free ports; SQLite stacks share one migrated and seeded database file for the session.
"""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from .client import Browser, Response  # noqa: F401 (tests import the client from here)
from .services import require_binary
from .stack import REDIS_PROFILES, Stack

SEED_PRODUCTS = 20


def manage(env, *args):
    subprocess.run([sys.executable, "manage.py", *args], env=env, cwd=settings.BASE_DIR, check=True,
                   capture_output=True)  # fmt: skip


@pytest.fixture(scope="session")
def stack_database(tmp_path_factory):
    """A migrated SQLite database with a seeded catalog, shared by the session's stacks."""
    url = f"sqlite:///{tmp_path_factory.mktemp('stack-db') / 'shop.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": url}
    manage(env, "migrate", "--noinput")
    manage(env, "seed_catalog", "--products", str(SEED_PRODUCTS))
    return url


@pytest.fixture(scope="session")
def start_stack(tmp_path_factory, stack_database):
    """Start a Stack (same arguments, plus ``port=0`` and a fresh run folder by default).

    Stacks are stopped at the end of the session at the latest; stop them sooner to keep a
    two-core machine responsive. The prefixed log is in ``<run_dir>/stack.log``.
    """
    started = []

    def start(profile="db", db="sqlite", **options):
        require_binary("nginx")
        if profile in REDIS_PROFILES:
            require_binary("redis-server")
        if db == "postgres":
            require_binary("initdb")
            require_binary("postgres")
        options.setdefault("port", 0)
        options.setdefault("run_dir", tmp_path_factory.mktemp(f"run-{profile}-{db}"))
        log = open(options["run_dir"] / "stack.log", "a")  # noqa: SIM115 (closed at teardown)
        env = {"DATABASE_URL": stack_database} if db == "sqlite" else {}
        stack = Stack(profile=profile, db=db, env=env, out=log, **options)
        started.append((stack, log))
        stack.start()
        if db == "postgres":
            stack.manage("seed_catalog", "--products", str(SEED_PRODUCTS))
        return stack

    yield start
    for stack, log in started:
        stack.stop()
        log.close()
