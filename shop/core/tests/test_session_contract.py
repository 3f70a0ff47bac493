"""One contract, every engine: what the shop relies on a SessionStore to do, in this process.

Every profile's engine (from the registry: a new profile is tested here without a line more), and
the migrating engine in both directions between each pair of profiles a live switch moves between
(writing one store, reading the other). Real stores: SQLite, files in a temporary folder, a private
redis-server, cookies. A case that has no meaning for an engine whose session is the cookie itself
(nothing on a server to look up, delete or collide with) is skipped with the reason; a known upstream
limitation is skipped naming it. Expiries are set in the past where the API allows; the one case that
needs the clock to move gives every engine's sessions one shared two-second timeline.
"""

import itertools
import time
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.test import override_settings
from django.utils import timezone
from django.utils.crypto import get_random_string

from shop.core.profiles import REGISTRY, Profile
from shop.core.session_backends import migrating

# Django checks a signed cookie's age against SESSION_COOKIE_AGE only: a per-session set_expiry()
# sets the browser cookie's Max-Age, not what the server accepts (Django ticket #19201).
IGNORES_SET_EXPIRY = {
    "django.contrib.sessions.backends.signed_cookies": "upstream: Django's signed cookies accept a "
    "cookie until SESSION_COOKIE_AGE whatever set_expiry() said (ticket #19201)",
}
NO_STORE = "the session is the cookie itself: no server holds it"


@dataclass(frozen=True)
class Engine:
    """A SessionStore as a server configures it: writing ``profiles[0]``'s store, reading the others'."""

    profiles: tuple[Profile, ...]

    def __str__(self):
        primary, *fallbacks = self.profiles
        return f"migrating-{primary}-reading-{'-'.join(map(str, fallbacks))}" if fallbacks else primary.name

    @property
    def in_cookie(self):
        return self.profiles[0].in_cookie

    @property
    def needs_redis(self):
        return any(p.needs_redis for p in self.profiles)

    def settings(self, redis_url, folder):
        primary, *fallbacks = self.profiles
        values = {"SESSION_FILE_PATH": str(folder), "SESSION_COOKIE_AGE": 14 * 24 * 3600}
        if self.needs_redis:
            redis = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url}
            values |= {
                "SESSION_CACHE_ALIAS": "sessions",
                "CACHES": {**django_settings.CACHES, "sessions": redis},
            }
        if not fallbacks:
            return values | {"SESSION_ENGINE": primary.engine}
        return values | {
            "SESSION_ENGINE": "shop.core.session_backends.migrating",
            "SESSION_PRIMARY_ENGINE": primary.engine,
            "SESSION_FALLBACK_ENGINES": [p.engine for p in fallbacks],
        }

    def store_class(self):
        primary, *fallbacks = self.profiles
        if not fallbacks:
            return import_module(primary.engine).SessionStore
        return migrating.store_class(primary.engine, tuple(p.engine for p in fallbacks))

    def ignores_set_expiry(self):
        return IGNORES_SET_EXPIRY.get(self.profiles[0].engine)


MIGRATABLE = [p for p in REGISTRY.values() if p.migratable]
ENGINES = [Engine((p,)) for p in REGISTRY.values()] + [
    Engine(pair) for pair in itertools.permutations(MIGRATABLE, 2)
]
MADE_UP_KEYS = {
    "garbage": "}{not a key at all;%$#@!:::",
    "forty_a": "a" * 40,
    "traversal": "../../etc/passwd",
    "five_thousand": "k" * 5000,
    "non_ascii": "ключ-сессии-🍪-ünïcödé:sïgnätürë",
    "empty": "",
}


@pytest.fixture(params=ENGINES, ids=str)
def engine(request, settings, db, tmp_path):
    engine = request.param
    redis_url = request.getfixturevalue("redis_url") if engine.needs_redis else None
    for name, value in engine.settings(redis_url, tmp_path).items():
        setattr(settings, name, value)
    return engine


@pytest.fixture
def store(engine):
    """The engine's SessionStore class: ``store(key)`` is what a request with that cookie opens."""
    return engine.store_class()


def server_side_only(engine, why):
    if engine.in_cookie:
        pytest.skip(f"{NO_STORE}: {why}")


def saved(store_class, data, expiry=None):
    """A new session holding ``data``: the cookie value that names it."""
    session = store_class()
    session.update(data)
    if expiry is not None:
        session.set_expiry(expiry)
    session.save()
    return session.session_key


def loaded(store_class, key):
    """What a request whose cookie is ``key`` finds (without the expiry bookkeeping)."""
    data = store_class(key).load()
    data.pop("_session_expiry", None)
    return data


def test_save_and_load(store):
    key = saved(store, {"cart": {"7": 2}, "_auth_user_id": "1"})
    assert loaded(store, key) == {"cart": {"7": 2}, "_auth_user_id": "1"}


def test_change_and_load(store):
    session = store(saved(store, {"cart": {"7": 2}}))
    session["cart"] = {**session["cart"], "9": 1}
    session.save()
    assert loaded(store, session.session_key) == {"cart": {"7": 2, "9": 1}}


def test_exists(engine, store):
    server_side_only(engine, "exists() is always False")
    created = store()
    created.create()
    assert created.session_key and store().exists(created.session_key), "create() holds its key at once"
    key = saved(store, {"a": 1})
    assert store().exists(key)
    assert not store().exists(get_random_string(32, VALID_KEY_CHARS))


def test_cycle_key_keeps_the_data_under_a_new_key(store):
    session = store(saved(store, {"cart": {"7": 2}}))
    session.cycle_key()
    session.save()
    assert loaded(store, session.session_key) == {"cart": {"7": 2}}


def test_cycle_key_kills_the_old_key(engine, store):
    server_side_only(engine, "a copy of the old cookie stays valid (the shop's Device records end it)")
    old = saved(store, {"cart": {"7": 2}})
    session = store(old)
    session.cycle_key()
    session.save()
    assert session.session_key != old
    assert loaded(store, old) == {}


def test_flush_empties_the_session_and_drops_its_key(store):
    session = store(saved(store, {"cart": {"7": 2}}))
    session.flush()
    assert (dict(session.items()), session.session_key) == ({}, None)


def test_flush_kills_the_old_key(engine, store):
    server_side_only(engine, "a copy of the flushed cookie stays valid (the shop's Device records end it)")
    key = saved(store, {"cart": {"7": 2}})
    store(key).flush()
    assert loaded(store, key) == {}


def test_delete(engine, store):
    server_side_only(engine, "delete() can only empty this response's cookie")
    key, other = saved(store, {"a": 1}), saved(store, {"b": 2})
    store().delete(key)
    assert (loaded(store, key), loaded(store, other)) == ({}, {"b": 2})


def test_saving_a_new_session_over_an_existing_key_raises_create_error(engine, store):
    server_side_only(engine, "nothing to collide with: save() ignores must_create")
    key = saved(store, {"a": 1})
    intruder = store(key)
    intruder["a"] = 2
    with pytest.raises(CreateError):
        intruder.save(must_create=True)
    assert loaded(store, key) == {"a": 1}


def test_a_write_to_a_session_ended_elsewhere_is_refused_and_does_not_bring_it_back(engine, store):
    server_side_only(engine, "no server can end it: a copy of the cookie is the session")
    session = store(saved(store, {"cart": {"7": 2}}))
    session["cart"] = {"7": 3}  # read, then changed
    store().delete(session.session_key)  # meanwhile signed out on another server
    with pytest.raises(UpdateError):
        session.save()
    assert loaded(store, session.session_key) == {}


def test_create(store):
    session = store()
    session.create()
    assert dict(session.items()) == {}
    session["a"] = 1
    session.save()
    assert loaded(store, session.session_key) == {"a": 1}


@pytest.mark.parametrize("key", MADE_UP_KEYS.values(), ids=MADE_UP_KEYS)
# Django warns that memcached would refuse such cache keys; Redis and locmem take them.
@pytest.mark.filterwarnings("ignore::django.core.cache.backends.base.CacheKeyWarning")
def test_a_made_up_key_loads_nothing_raises_nothing_and_is_never_saved_under(store, key):
    session = store(key)
    assert session.load() == {}
    assert dict(session.items()) == {}
    session["cart"] = {"7": 1}  # a shopper adding to the cart with a cookie nobody issued
    session.save()
    assert session.session_key != key
    assert loaded(store, session.session_key) == {"cart": {"7": 1}}


def test_an_expiry_in_the_past_does_not_load(engine, store):
    if reason := engine.ignores_set_expiry():
        pytest.skip(reason)
    key = saved(store, {"a": 1}, expiry=timezone.now() - timedelta(seconds=1))
    assert loaded(store, key) == {}


def test_clear_expired_runs_and_keeps_live_sessions(engine, store):
    live = saved(store, {"a": 1})
    if not engine.ignores_set_expiry():
        saved(store, {"b": 2}, expiry=timezone.now() - timedelta(seconds=1))
    store.clear_expired()
    assert loaded(store, live) == {"a": 1}


LIFETIME = 2  # seconds: each session is read at once (alive), then after LIFETIME seconds (gone)
EXPIRIES = {  # what each session is given; the default is SESSION_COOKIE_AGE = LIFETIME
    "set_expiry(seconds)": lambda: LIFETIME,
    "set_expiry(datetime)": lambda: timezone.now() + timedelta(seconds=LIFETIME),
    "SESSION_COOKIE_AGE": lambda: None,
}


def configured(engine, kind, redis_url, folder):
    """The engine's settings, SESSION_COOKIE_AGE = LIFETIME for the session that has no other expiry."""
    values = engine.settings(redis_url, folder)
    return values | ({"SESSION_COOKIE_AGE": LIFETIME} if kind == "SESSION_COOKIE_AGE" else {})


@pytest.mark.django_db
def test_a_relative_absolute_or_default_expiry_ends_the_session_on_time(subtests, redis_url, tmp_path):
    """One timeline for every engine: sessions given LIFETIME seconds load at once and not after."""
    sessions = {}
    for engine, (kind, expiry) in itertools.product(ENGINES, EXPIRIES.items()):
        with override_settings(**configured(engine, kind, redis_url, tmp_path)):
            key = saved(engine.store_class(), {"a": 1}, expiry())
            sessions[engine, kind] = key, loaded(engine.store_class(), key)
    time.sleep(LIFETIME + 0.2)  # after the last save: the clock itself is what this case is about
    for (engine, kind), (key, at_once) in sessions.items():
        with subtests.test(engine=str(engine), expiry=kind):
            if kind != "SESSION_COOKIE_AGE" and (reason := engine.ignores_set_expiry()):
                pytest.skip(reason)
            with override_settings(**configured(engine, kind, redis_url, tmp_path)):
                assert (at_once, loaded(engine.store_class(), key)) == ({"a": 1}, {})
