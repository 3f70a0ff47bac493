"""The per-session lock, with each store for real (the database; a private redis-server).

A lock is held here by hand, as another request or a killed worker would hold it, and the shop's
answers are checked: a write of that session waits, then gets a 409 and changes nothing; a lock
past its expiry is taken over; reads, other sessions and cookieless requests never wait. That the
lock holds across servers is the 20-way race through nginx (tools/tests/test_scenarios.py).
"""

import time

import pytest
from django.test import Client

from shop.core.profiles import profile
from shop.core.session_lock import STORES, lock_name

WAIT = 0.3


@pytest.fixture(params=["database", "redis"])
def store(request, settings):
    """Locks in this store, for the default (db) sessions; a short wait so refusals are quick."""
    settings.SHOP_SESSION_LOCK_STORE = request.param
    settings.SHOP_SESSION_LOCK_WAIT = WAIT
    if request.param == "redis":
        redis_url = request.getfixturevalue("redis_url")
        settings.CACHES = {"default": {**settings.REDIS_CACHE, "LOCATION": redis_url}}
    return STORES[request.param]()


@pytest.fixture
def shopper(db, make_product):
    """A visitor with a session: one product in the cart; ``shopper.other`` is another product."""
    client = Client()
    first, client.other = make_product(), make_product()
    assert client.post(f"/cart/add/{first.pk}/", {"quantity": 1}).status_code == 302
    client.cookie = client.cookies["sessionid"].value
    return client


def cart_items(client):
    return client.get("/lab/probe").json()["cart_items"]


def test_a_write_waits_for_the_sessions_lock_then_gets_a_409_and_changes_nothing(store, shopper):
    held = store.acquire(lock_name(shopper.cookie), ttl=30, wait=0)
    assert held is not None
    started = time.monotonic()
    response = shopper.post(f"/cart/add/{shopper.other.pk}/", {"quantity": 1})
    assert time.monotonic() - started > WAIT * 0.8  # gives up one poll early rather than late
    assert response.status_code == 409
    assert response["Retry-After"] == "1"
    assert "Still busy with your other request" in response.content.decode()
    assert "Set-Cookie" not in response.headers  # the session was not even read
    assert cart_items(shopper) == 1  # a read does not wait for the lock
    store.release(held)
    assert shopper.post(f"/cart/add/{shopper.other.pk}/", {"quantity": 1}).status_code == 302
    assert cart_items(shopper) == 2


def test_a_lock_left_by_a_dead_worker_expires_and_is_taken_over(store, shopper):
    # Never released, as if its worker had been killed; it expires within the next request's wait.
    assert store.acquire(lock_name(shopper.cookie), ttl=WAIT / 3, wait=0) is not None
    assert shopper.post(f"/cart/add/{shopper.other.pk}/", {"quantity": 1}).status_code == 302
    assert cart_items(shopper) == 2


def test_every_write_releases_its_lock_and_an_expired_holder_cannot_release_its_successors(store, shopper):
    assert shopper.post(f"/cart/add/{shopper.other.pk}/", {"quantity": 1}).status_code == 302
    name = lock_name(shopper.cookie)
    slow = store.acquire(name, ttl=0.1, wait=0)
    assert slow is not None, "the request above left its lock behind"
    time.sleep(0.2)
    successor = store.acquire(name, ttl=30, wait=0)
    assert successor is not None
    store.release(slow)  # too late: it is the successor's now
    assert store.acquire(name, ttl=30, wait=0) is None
    store.release(successor)
    assert store.acquire(name, ttl=30, wait=0) is not None


def test_other_sessions_and_cookieless_writes_do_not_wait(store, shopper, make_product):
    held = store.acquire(lock_name(shopper.cookie), ttl=30, wait=0)
    other_visitor = Client()
    assert other_visitor.post(f"/cart/add/{shopper.other.pk}/", {"quantity": 1}).status_code == 302
    assert other_visitor.post(f"/cart/add/{shopper.other.pk}/", {"quantity": 1}).status_code == 302
    assert cart_items(other_visitor) == 2
    store.release(held)


def test_with_save_every_request_reads_take_the_lock_too(store, shopper, settings):
    """Every request then saves the whole session: an unlocked read could undo a write."""
    settings.SESSION_SAVE_EVERY_REQUEST = True
    held = store.acquire(lock_name(shopper.cookie), ttl=30, wait=0)
    assert shopper.get("/cart/").status_code == 409
    store.release(held)
    assert shopper.get("/cart/").status_code == 200


@pytest.mark.parametrize("why", ["no store", "switched off"])
def test_no_lock_where_no_server_holds_the_session_or_when_switched_off(why, settings, shopper):
    """locmem names no store (one process holds the session); SHOP_SESSION_LOCKS=0 turns it off."""
    assert STORES["database"]().acquire(lock_name(shopper.cookie), ttl=30, wait=0) is not None
    settings.SHOP_SESSION_LOCK_WAIT = 60  # a lock taken here would hang the test, not pass it
    if why == "switched off":
        settings.SHOP_SESSION_LOCKS = False
    else:
        settings.SHOP_SESSION_LOCK_STORE = None
    client = Client()  # a new handler, built with these settings
    client.cookies["sessionid"] = shopper.cookie
    assert client.post(f"/cart/add/{shopper.other.pk}/", {"quantity": 1}).status_code == 302


def test_redis_down_is_the_503_page_not_a_500(db, settings, make_product):
    settings.SHOP_SESSION_LOCK_STORE = "redis"
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "k" * 32
    response = client.post(f"/cart/add/{make_product().pk}/", {"quantity": 1})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Sessions temporarily unavailable" in response.content.decode()


def test_a_write_sent_before_another_tab_signed_in_is_refused_not_made_anonymous(store, shopper, user):
    """Two tabs: one signs in, which gives the session a new key; the other's add was sent with the
    old cookie and waited for the lock meanwhile. It found no session under that cookie, started an
    anonymous one and set its cookie, which the browser keeps as the last one set: signed out, the
    cart gone. Now it is refused with a 409 and changes nothing; sent again, with the new cookie, it
    lands in the signed-in session."""
    other_tab = Client()
    other_tab.cookies["sessionid"] = shopper.cookie
    login = shopper.post("/accounts/login/", {"username": user.username, "password": "correct-horse-battery"})
    assert login.status_code == 302 and shopper.cookies["sessionid"].value != shopper.cookie

    answer = other_tab.post(f"/cart/add/{shopper.other.pk}/", {"quantity": 1})
    assert answer.status_code == 409 and answer["Retry-After"] == "1"
    assert "sessionid" not in answer.cookies
    assert (
        shopper.get("/lab/probe").json() | {"authenticated": True, "cart_items": 1}
        == shopper.get("/lab/probe").json()
    )
    assert shopper.post(f"/cart/add/{shopper.other.pk}/", {"quantity": 1}).status_code == 302
    assert cart_items(shopper) == 2


@pytest.mark.parametrize("engine", ["signed_cookies", "encrypted_cookies"])
def test_two_tabs_of_a_cookie_session_the_second_is_refused_not_lost(engine, settings, db, make_product):
    """Both tabs send the cookie they have; the browser keeps whichever new one comes back last.
    Unfenced, the second write's cookie (its copy of the cart, without the first tab's line)
    replaced the first's: an acknowledged line gone. Fenced, the first write marks the cookie it
    replaced, the second is a 409 that changes nothing, and sent again with the new cookie it lands."""
    settings.SESSION_ENGINE = profile(engine).engine
    settings.SHOP_SESSION_LOCK_STORE = profile(engine).lock_store
    first_tab, (kettle, mug, pan) = Client(), (make_product() for _ in range(3))
    assert first_tab.post(f"/cart/add/{kettle.pk}/", {"quantity": 1}).status_code == 302
    second_tab = Client()
    second_tab.cookies["sessionid"] = first_tab.cookies["sessionid"].value

    assert first_tab.post(f"/cart/add/{mug.pk}/", {"quantity": 1}).status_code == 302
    refused = second_tab.post(f"/cart/add/{pan.pk}/", {"quantity": 1})
    assert refused.status_code == 409 and "sessionid" not in refused.cookies
    assert cart_items(first_tab) == 2

    second_tab.cookies["sessionid"] = first_tab.cookies["sessionid"].value  # the browser's newest
    assert second_tab.post(f"/cart/add/{pan.pk}/", {"quantity": 1}).status_code == 302
    assert cart_items(second_tab) == 3


def test_a_signed_cookie_that_comes_back_to_an_earlier_value_is_not_refused(
    settings, db, make_product, monkeypatch
):
    """Signing is deterministic: the same session data signed in the same second is the same string.
    Adding a line and removing it again gave back the cookie the add had replaced (and marked): every
    write after it was a 409 (a buyer's checkout, then the next add, under load in test_faults.py)."""
    settings.SESSION_ENGINE = profile("signed_cookies").engine
    settings.SHOP_SESSION_LOCK_STORE = "database"
    monkeypatch.setattr("django.core.signing.time.time", lambda: 1_800_000_000.0)
    tab, (kettle, mug) = Client(), (make_product(), make_product())
    assert tab.post(f"/cart/add/{kettle.pk}/", {"quantity": 1}).status_code == 302
    first = tab.cookies["sessionid"].value
    assert tab.post(f"/cart/add/{mug.pk}/", {"quantity": 1}).status_code == 302
    assert tab.post(f"/cart/remove/{mug.pk}/").status_code == 302
    assert tab.cookies["sessionid"].value == first  # the same data, signed in the same second
    assert tab.post(f"/cart/add/{mug.pk}/", {"quantity": 1}).status_code == 302
    assert cart_items(tab) == 2
