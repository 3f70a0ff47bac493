"""The migrating session engine between every pair of shared profiles, both ways, in this process.

Each "request" is what SessionMiddleware does: open the store the cookie names, read it, maybe
change it, save it when modified and hand back the cookie. Servers of a switch alternate: one
still writing the old store (reading the new one too), one writing the new store (reading the
old one too), as round robin sends a shopper's requests during ``runstack --switch-profile``.
"""

import itertools
import subprocess
import sys
from importlib import import_module

import pytest
from django.conf import settings as django_settings
from django.test import Client

from shop.accounts.devices import DEVICE_SESSION_KEY
from shop.accounts.models import Device
from shop.core.profiles import REGISTRY
from shop.core.session_backends import migrating

ENGINES = {p.name: p.engine for p in REGISTRY.values() if p.migratable}
PAIRS = list(itertools.permutations(ENGINES, 2))
PASSWORD = "correct-horse-battery"


@pytest.fixture
def stores(settings, redis_url, tmp_path, db):
    """Every engine's store as the stack's servers configure them: Redis for both Redis engines."""
    redis = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url}
    settings.CACHES = {**settings.CACHES, "sessions": redis}
    settings.SESSION_CACHE_ALIAS = "sessions"
    settings.SESSION_FILE_PATH = str(tmp_path)
    migrating.store_class.cache_clear()  # the classes it makes would keep these settings


def server(primary, *fallbacks):
    """The SessionStore class of a server writing ``primary``'s store, reading the others'."""
    return migrating.store_class(ENGINES[primary], tuple(ENGINES[name] for name in fallbacks))


def plain(profile):
    return import_module(ENGINES[profile]).SessionStore


def request(store_class, cookie, change=None):
    """One request: (the session's data as the view saw it, the cookie the browser has after it)."""
    session = store_class(cookie)
    data = dict(session.items())
    if change:
        change(session)
    if session.modified and not session.is_empty():
        session.save()
        cookie = session.session_key
    return data, cookie


def add_line(product):
    def change(session):
        session["cart"] = {**session.get("cart", {}), product: 1}

    return change


def logged_in_cookie(profile):
    session = plain(profile)()
    session.update({"_auth_user_id": "7", "cart": {"1": 1}})
    session.save()
    return session.session_key


@pytest.mark.parametrize(("old", "new"), PAIRS, ids=[f"{a}-to-{b}" for a, b in PAIRS])
def test_a_session_survives_every_phase_of_a_switch_whichever_server_answers(stores, old, new):
    cookie = logged_in_cookie(old)
    phase1, phase2 = server(old, new), server(new, old)

    # Phase 1 servers read the old store as before.
    data, cookie = request(phase1, cookie)
    assert data == {"_auth_user_id": "7", "cart": {"1": 1}}

    # Phase 2: a server writing the new store finds it in the old one and moves it.
    data, moved = request(phase2, cookie, add_line("1"))
    assert data["cart"] == {"1": 1}
    assert plain(new)(moved).load()["cart"] == {"1": 1}
    if not migrating.in_cookie(cookie) and not REGISTRY[new].in_cookie:
        # A server-side session keeps its key: another tab's request sent with the cookie before
        # the move (it waited for the session's lock) still finds the session, on either server.
        assert moved == cookie
        assert request(phase1, cookie)[0]["_auth_user_id"] == "7"
    cookie = moved

    # Round robin: every change is seen by the next server, whichever store it writes.
    expected = {"1": 1}
    for step, store_class in enumerate([phase1, phase2, phase2, phase1, phase1, phase2]):
        data, cookie = request(store_class, cookie, add_line(str(step + 2)))
        assert data["cart"] == expected, f"step {step}: a stale copy"
        expected = {**expected, str(step + 2): 1}
    for store_class in (phase1, phase2):  # reads move it too, and the browser keeps the new cookie
        data, cookie = request(store_class, cookie)
        assert data["cart"] == expected

    # Switched: the session is in the new store only, and a plain server of the new profile reads it.
    assert plain(new)(cookie).load()["cart"] == expected
    if not migrating.in_cookie(cookie) and not REGISTRY[old].in_cookie and {old, new} != {"db", "cached_db"}:
        assert plain(old)(cookie).load() == {}, "the old store still holds a copy"


@pytest.mark.parametrize(("old", "new"), PAIRS, ids=[f"{a}-to-{b}" for a, b in PAIRS])
@pytest.mark.parametrize("logout_on", ["phase1", "phase2"])
def test_a_logout_during_the_switch_leaves_no_copy_to_come_back(stores, old, new, logout_on):
    """Wherever the session is when the shopper logs out, no store keeps a copy that a server could
    find later. (A copied cookie session stays valid whatever the servers delete: the shop revokes
    those with the user's session epoch, docs/SECURITY.md.)"""
    cookie = logged_in_cookie(old)
    phase1, phase2 = server(old, new), server(new, old)
    _, moved = request(phase2, cookie)
    session = {"phase1": phase1, "phase2": phase2}[logout_on](moved)
    session.flush()  # what logout() does
    for key in {cookie, moved}:
        if not migrating.in_cookie(key):
            for store_class in (phase1, phase2, plain(old), plain(new)):
                assert request(store_class, key)[0] == {}, f"{key} found by {store_class.__mro__[1]}"


COOKIE_TO_SERVER_SIDE = [
    (old, new) for old, new in PAIRS if REGISTRY[old].in_cookie and not REGISTRY[new].in_cookie
]


@pytest.mark.parametrize(
    ("old", "new"), COOKIE_TO_SERVER_SIDE, ids=[f"{a}-to-{b}" for a, b in COOKIE_TO_SERVER_SIDE]
)
def test_the_request_that_moves_a_cookie_session_is_signed_in_during_a_key_rotation(
    stores, settings, django_user_model, old, new
):
    """Through the middleware: with SECRET_KEY_FALLBACKS set the user is read first, and the move
    leaves the session without a key until it is saved. That request still serves the shopper (a
    soak's "end this device" was sent to the login page during signed_cookies -> file)."""
    django_user_model.objects.create_user(username="alice", password=PASSWORD)
    settings.SESSION_ENGINE, settings.SHOP_SESSION_LOCK_STORE = ENGINES[old], "database"
    laptop, phone = Client(), Client(HTTP_USER_AGENT="phone")
    for client in (laptop, phone):
        assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 302
    phone_device = phone.session[DEVICE_SESSION_KEY]
    settings.SESSION_ENGINE = "shop.core.session_backends.migrating"
    settings.SESSION_PRIMARY_ENGINE, settings.SESSION_FALLBACK_ENGINES = ENGINES[new], [ENGINES[old]]
    settings.SECRET_KEY_FALLBACKS = ["a-key-from-before-the-last-rotation-" * 2]
    moving = Client()  # SessionMiddleware keeps the engine it started with: a server of phase 2
    moving.cookies = laptop.cookies
    response = moving.post(f"/accounts/sessions/{phone_device}/end/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/sessions/"
    assert not migrating.in_cookie(moving.cookies[settings.SESSION_COOKIE_NAME].value), "not moved"
    assert not Device.objects.filter(public_id=phone_device).exists()


def test_a_server_writing_through_db_drops_cached_dbs_stale_copy(stores):
    cookie = logged_in_cookie("cached_db")
    through_cache, through_db = server("cached_db", "db"), server("db", "cached_db")
    request(through_cache, cookie)  # cached in Redis
    _, cookie = request(through_db, cookie, add_line("2"))
    assert request(through_cache, cookie)[0]["cart"] == {"1": 1, "2": 1}


def test_a_new_key_is_new_in_every_store(stores):
    old_key = logged_in_cookie("cache")
    assert server("db", "cache")().exists(old_key)
    assert not server("db", "cache")().exists("x" * 32)


def test_expired_sessions_are_cleared_in_every_store(stores, settings):
    old = logged_in_cookie("file")
    settings.SESSION_COOKIE_AGE = -1  # every session is past its age now
    server("db", "file").clear_expired()
    assert not plain("file")().exists(old)


def migrating_settings(profiles, *names):
    """The repr of each named setting in a process started on config.settings.migrating."""
    code = "import django; django.setup(); from django.conf import settings; "
    code += f"print(*[repr(getattr(settings, name, None)) for name in {names!r}], sep='|')"
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.migrating",
        "SHOP_SESSION_PROFILES": profiles,
        "SESSION_FILE_PATH": "/srv/shop-sessions",
    }
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=django_settings.BASE_DIR, capture_output=True, text=True
    )


def test_the_migrating_settings_run_the_first_profile_and_read_the_others():
    result = migrating_settings(
        "db,cache,file",
        "SHOP_PROFILE",
        "SESSION_PRIMARY_ENGINE",
        "SESSION_FALLBACK_ENGINES",
        "SESSION_CACHE_ALIAS",
        "SESSION_FILE_PATH",
    )
    assert result.returncode == 0, result.stderr
    profile, primary, fallbacks, alias, folder = result.stdout.strip().split("|")
    assert (profile, primary, alias, folder) == (
        "'db'",
        repr(ENGINES["db"]),
        "'sessions'",
        "'/srv/shop-sessions'",
    )
    assert fallbacks == repr([ENGINES["cache"], ENGINES["file"]])


@pytest.mark.parametrize(
    ("profiles", "store"),
    [
        ("db,cache", "'database'"),
        ("signed_cookies,file", "'database'"),
        ("cache,cached_db", "'redis'"),
        ("signed_cookies,cache", "'redis'"),
        ("cached_db,signed_cookies", "'redis'"),
    ],
)
def test_every_server_of_a_switch_locks_sessions_in_one_store(profiles, store):
    """Both ends of a switch get the same lock store, whichever of them a server writes."""
    first, second = profiles.split(",")
    for order in (f"{first},{second}", f"{second},{first}"):
        result = migrating_settings(order, "SHOP_SESSION_LOCK_STORE")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == store, order


def test_the_migrating_settings_refuse_locmem():
    result = migrating_settings("db,locmem", "SHOP_PROFILE")
    assert result.returncode != 0
    assert "locmem cannot be migrated: each session lives in one worker's memory" in result.stderr
