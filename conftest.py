"""Fixtures shared by every app's tests."""

import itertools
from decimal import Decimal
from importlib import import_module

import pytest
from django.core.cache import caches

from shop.catalog.models import Category, Product

# Fixtures that start the real stack (start_stack, stack_database), for every app's tests.
pytest_plugins = ["shop.stack.testing"]

_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def fast_password_hasher(request, settings):
    """PBKDF2 costs ~0.35 s a hash by design, and the tests hash many passwords.

    Not for ``stack`` tests: their gunicorn servers must check the passwords with the
    real settings.
    """
    if not request.node.get_closest_marker("stack"):
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
    from shop.stack.services import RedisServer, require_binary

    require_binary("redis-server")
    with RedisServer(tmp_path_factory.mktemp("redis")) as redis:
        yield redis.url


@pytest.fixture
def session_store(db, settings):
    """A real session of the configured engine, as a view would get it."""
    return import_module(settings.SESSION_ENGINE).SessionStore()
