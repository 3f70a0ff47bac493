"""The ``db`` profile's engine (shop/core/session_backends/db.py): Django's table and meaning, read
and updated with one hand-written statement each."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shop.core.session_backends.db import SessionStore

pytestmark = pytest.mark.django_db


def test_it_reads_and_writes_the_rows_djangos_engine_does():
    ours = SessionStore()
    ours["cart"] = {"7": 2}
    ours.save()
    theirs = DjangoStore(ours.session_key)
    assert theirs["cart"] == {"7": 2}
    theirs["cart"] = {"7": 3}
    theirs.save()

    again = SessionStore(ours.session_key)
    assert again["cart"] == {"7": 3}
    again["cart"] = {"7": 3, "8": 1}
    again.set_expiry(600)
    again.save()
    row = Session.objects.get(pk=ours.session_key)
    assert DjangoStore(ours.session_key)["cart"] == {"7": 3, "8": 1}
    assert abs(row.expire_date - (timezone.now() + timedelta(seconds=600))) < timedelta(seconds=5)


def test_an_expired_row_is_no_session():
    store = SessionStore()
    store["cart"] = {"7": 1}
    store.save()
    Session.objects.filter(pk=store.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))
    late = SessionStore(store.session_key)
    assert late.load() == {} and late.session_key is None


def test_saving_a_session_whose_row_was_deleted_meanwhile_fails_as_in_django():
    store = SessionStore()
    store["cart"] = {"7": 1}
    store.save()
    Session.objects.all().delete()  # signed out elsewhere, or clearsessions
    store["cart"] = {"7": 2}
    with pytest.raises(UpdateError):
        store.save()
    assert not Session.objects.exists()


def test_a_signed_in_write_reads_and_updates_the_session_with_one_statement_each(shopper_client, product):
    assert settings.SESSION_ENGINE == "shop.core.session_backends.db"
    shopper_client.post(f"/cart/add/{product.pk}/", {"quantity": 1})
    with CaptureQueriesContext(connection) as queries:
        assert shopper_client.post(f"/cart/add/{product.pk}/", {"quantity": 1}).status_code == 302
    on_sessions = [q["sql"].split()[0] for q in queries if "django_session" in q["sql"]]
    assert on_sessions == ["SELECT", "UPDATE"]
    assert shopper_client.get("/lab/probe").json()["cart_items"] == 2


def test_a_cached_db_read_that_missed_the_cache_never_caches_an_older_copy_than_a_write_made(
    settings, redis_url
):
    """cached_db fills its cache after a miss with the row it read. A write (under the session's lock,
    which reads do not take) that lands between that read and the fill has cached its own, newer copy:
    the fill must not overwrite it, or every read after it serves the older cart and the next write
    saves that (the acknowledged line is gone)."""
    from shop.core.session_backends.cached_db import SessionStore as CachedDbStore

    settings.CACHES = {
        **settings.CACHES,
        "sessions": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url},
    }
    settings.SESSION_CACHE_ALIAS = "sessions"
    session = CachedDbStore()
    session["cart"] = {"7": 1}
    session.save()
    key = session.session_key
    session._cache.delete(session.cache_key)  # a miss: Redis lost its copy (a failover, an eviction)

    reader = CachedDbStore(key)
    read_row = reader._get_session_from_db

    def row_then_another_tabs_write():
        row = read_row()
        writer = CachedDbStore(key)  # another tab's add, acknowledged before the read fills the cache
        writer["cart"] = {"7": 1, "8": 1}
        writer.save()
        return row

    reader._get_session_from_db = row_then_another_tabs_write
    assert reader.load()["cart"] == {"7": 1}  # what the database held when it was read
    assert CachedDbStore(key).load()["cart"] == {"7": 1, "8": 1}
