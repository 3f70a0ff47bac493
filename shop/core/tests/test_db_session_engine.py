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
