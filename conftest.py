"""Fixtures shared by every app's tests, the real stack's among them: the one place for them.

Stack tests start real nginx, gunicorn, Redis and PostgreSQL. On a laptop without one of those
programs they skip; with CI=true (CI installs every program, scripts/system-deps) they fail.
"""

import collections
import itertools
import json
import os
import subprocess
import sys
from decimal import Decimal
from importlib import import_module

import pytest
from django.conf import settings
from django.core.cache import caches

from shop.catalog.models import Category, Product
from tools.stack.children import find_binary, wait_until
from tools.stack.hosts import can_make_hosts
from tools.stack.services import RedisServer
from tools.stack.stack import Stack, required_programs

# The shop's servers and manage.py commands the tests start hash passwords with MD5, not PBKDF2's
# 0.9 s of CPU a hash (config/settings/base.py); hardened stacks keep PBKDF2.
os.environ.setdefault("SHOP_FAST_PASSWORD_HASHING", "1")
SEED_PRODUCTS = 40  # the lab's race adds 20 different products to one cart
STACK_SESSION_MAX_AGE = 3600  # seconds: every test stack's SHOP_SESSION_MAX_AGE
_serial = itertools.count(1)


def skip_or_fail(message):
    """Skip on a laptop that cannot run a test, but fail when CI=true: there it is a broken setup."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; with CI=true that fails the run", pytrace=False)
    pytest.skip(message)


def require_binary(name):
    path = find_binary(name)
    if path is None:
        skip_or_fail(f"{name} is not installed (scripts/system-deps installs it)")
    return path


@pytest.fixture(autouse=True)
def fast_password_hasher(request, settings):
    """PBKDF2 costs ~0.35 s a hash by design, and the tests hash many passwords.

    Not for ``stack`` tests: their gunicorn servers must check the passwords with the
    real settings.
    """
    if not request.node.get_closest_marker("stack"):
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def static_files_without_a_manifest(settings):
    """Tests run in this process without collectstatic, so ManifestStaticFilesStorage would have
    no manifest to look hashed names up in and every page would raise: they get plain names.

    The stack's servers are other processes, with the real storage over the files the stack
    collects (shop/catalog/tests/test_static_files.py).
    """
    settings.STORAGES = settings.STORAGES | {
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    }


@pytest.fixture(autouse=True)
def no_cached_catalog():
    """Rendered catalog fragments live in this process's memory: none may leak between tests."""
    caches["catalog"].clear()


@pytest.fixture
def category(db):
    return Category.objects.create(name="Kitchen", slug="kitchen")


@pytest.fixture
def make_product(category):
    """Create a product; keyword arguments override the defaults."""

    def make(**fields):
        n = next(_serial)
        values = {
            "category": category,
            "name": f"Product {n}",
            "slug": f"product-{n}",
            "description": f"Description of product {n}",
            "price": Decimal("12.50"),
            "stock": 10,
        }
        return Product.objects.create(**(values | fields))

    return make


@pytest.fixture
def product(make_product):
    return make_product(name="Copper Kettle", slug="copper-kettle", price=Decimal("39.90"), stock=5)


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="alice", password="correct-horse-battery")


@pytest.fixture
def shopper_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A private, throwaway redis-server for the test run."""
    require_binary("redis-server")
    with RedisServer(tmp_path_factory.mktemp("redis")) as redis:
        yield redis.url


@pytest.fixture
def session_store(db, settings):
    """A real session of the configured engine, as a view would get it."""
    return import_module(settings.SESSION_ENGINE).SessionStore()


def manage(env, *args):
    subprocess.run(
        [sys.executable, "manage.py", *args], env=env, cwd=settings.BASE_DIR, check=True, capture_output=True
    )


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
    """Start a Stack (same arguments; ``port=0`` and a fresh run folder by default).

    Stacks stop at the end of the session at the latest; stop them sooner to keep a two-core
    machine responsive. The prefixed log is in ``<run_dir>/stack.log``.
    """
    started = []

    def start(profile="db", db="sqlite", **options):
        for program in required_programs([profile], db, options.get("metrics", False)):
            require_binary(program)
        options.setdefault("port", 0)
        options.setdefault("run_dir", tmp_path_factory.mktemp(f"run-{profile}-{db}"))
        log = open(options["run_dir"] / "stack.log", "a")  # noqa: SIM115 (closed at teardown)
        env = ({"DATABASE_URL": stack_database} if db == "sqlite" else {}) | options.pop("env", {})
        # Every test stack ends a sign-in after an hour, however busy: long enough for any test's
        # shoppers, and test_stack_lifetime.py shows it ending on time without a stack of its own.
        env = {"SHOP_SESSION_MAX_AGE": str(STACK_SESSION_MAX_AGE)} | env
        if options.get("hosts") and not can_make_hosts():
            skip_or_fail("--hosts needs root (or CAP_NET_ADMIN) for network namespaces")
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


def stack_shape(module, param=None):
    """The Stack arguments a test asks for with the ``stack`` fixture: profile db, 3 servers x 2
    workers, changed by its module's ``STACK`` dict, then by its parameter (a profile name or a
    dict). ``"private": True`` asks for a stack of the module's own (see ``stack``)."""
    shape = {"profile": "db", "servers": 3, "workers": 2, **getattr(module, "STACK", {})}
    return shape | ({"profile": param} if isinstance(param, str) else param or {})


def shared_shape_key(item):
    """The key of the shared stack ``item`` uses, or None (no ``stack``, or a private one)."""
    if "stack" not in item.fixturenames:
        return None
    callspec = getattr(item, "callspec", None)
    shape = stack_shape(item.module, callspec.params.get("stack") if callspec else None)
    return None if shape.get("private") else json.dumps(shape, sort_keys=True)


SHARED_STACK_USES = pytest.StashKey[collections.Counter]()


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items):
    """Under pytest-xdist (``make test`` runs one worker per core: a stack test mostly waits), the
    tests of one shared stack run in one worker, and so do those of a module's private stack: each
    stack starts once (``--dist loadgroup``; the groups are marked before xdist reads them).

    After every other plugin's reordering, the modules that use a shared stack go last, one after
    another (each in its place among them), so that no shared stack idles through the other
    modules: one alive checks its servers' readiness every second, about 1% of a core."""
    for item in items:
        if "stack" in item.fixturenames:
            item.add_marker(pytest.mark.xdist_group(shared_shape_key(item) or str(item.path)))
    yield
    sharing = {item.path for item in items if shared_shape_key(item)}
    items.sort(key=lambda item: item.path in sharing)


def pytest_collection_finish(session):
    """Count the tests that will use each shared stack: the last one's module stops it."""
    uses = collections.Counter(filter(None, map(shared_shape_key, session.items)))
    session.config.stash[SHARED_STACK_USES] = uses


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item):
    """Before the fixtures' own teardown, so that ``stack`` knows whether a test still needs it."""
    if key := shared_shape_key(item):
        item.config.stash[SHARED_STACK_USES][key] -= 1


def in_full_health(stack):
    """Every server serving and in nginx's rotation, as after its start."""
    return stack.in_full_health()


@pytest.fixture(scope="session")
def shared_stacks(request, start_stack):
    """Started stacks by shape, for the tests that only shop on them, whichever module they are in."""
    stacks = {}
    uses = request.config.stash.get(SHARED_STACK_USES, collections.Counter())

    def get(shape):
        key = json.dumps(shape, sort_keys=True)
        stack = stacks.get(key)
        if stack is None or stack.stopped.is_set():  # stopped itself after a test broke it, say
            stack = stacks[key] = start_stack(**shape)
        # A test before may have killed or restarted a server: the stack starts it again itself.
        wait_until(lambda: in_full_health(stack), 60, f"waiting for {stack.describe()} to serve in full")
        return stack

    def release(shape):
        key = json.dumps(shape, sort_keys=True)
        if uses[key] <= 0 and key in stacks:
            stacks.pop(key).stop()

    return get, release


@pytest.fixture(scope="module")
def stack(request, shared_stacks, start_stack):
    """A started stack for a test module (and for each parameter, with ``indirect=True``); its shape
    comes from ``stack_shape``.

    Stacks are shared: every test of the session that asks for the same shape gets the same stack,
    started once and stopped after the last module that uses it. Tests on a shared stack make their
    own users and products and leave it as they found it (a server they kill or restart, the stack
    starts again; the next module waits for that). A test whose stack must be fresh, or that
    changes it (switches its profile, rotates its key, cuts its hosts off, deletes its store's
    data), asks for ``"private": True``: a stack of its own, stopped at the end of its module.
    """
    shape = stack_shape(request.module, getattr(request, "param", None))
    if shape.pop("private", False):
        stack = start_stack(**shape)
        yield stack
        stack.stop()
        return
    get, release = shared_stacks
    yield get(shape)
    release(shape)
