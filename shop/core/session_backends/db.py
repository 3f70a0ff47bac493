"""Django's db engine, reading and updating its row with one hand-written statement each.

The table, its columns and what they mean are Django's own (``django_session``; an expired row is
no session; ``clearsessions`` deletes them); so are the key, the encoding and every error: a save
whose row is gone raises UpdateError, which SessionMiddleware answers as Django does. Only the
ORM's query building goes (``shop/core/raw_sql.py``): ``load()`` took 610 µs of CPU per request
through the ORM and 210 µs this way, ``save()`` 590 µs and 220 µs, decoding and encoding included
(``manage.py bench --in-process --profiles db --baseline``, before and after in one run). A new row is
still written by Django's own ``save(must_create=True)``: once per session, and its CreateError
retry loop is Django's.
"""

from functools import cache

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DjangoDbSessionStore
from django.contrib.sessions.models import Session
from django.db import connections, router
from django.utils import timezone

from ..raw_sql import Select, param, quoted


@cache
def statements():
    """(the SELECT of a live row, the UPDATE of a row), from the model's metadata."""
    table, key, data, expires = (
        quoted(Session, name) for name in (None, "session_key", "session_data", "expire_date")
    )
    # Names from the model, values as parameters: nothing of a request's is formatted into SQL.
    live_row = f"SELECT {data}, {expires} FROM {table} WHERE {key} = %s AND {expires} > %s"  # noqa: S608
    update = f"UPDATE {table} SET {data} = %s, {expires} = %s WHERE {key} = %s"  # noqa: S608
    return Select(live_row, [(Session, "session_data"), (Session, "expire_date")]), update


class SessionStore(DjangoDbSessionStore):
    def _get_session_from_db(self):
        """The live row as an unsaved Session (what load() and cached_db's load() read); None if none."""
        using = router.db_for_read(self.model)
        found = statements()[0].first(
            [self.session_key, param(Session, "expire_date", timezone.now(), using)], using
        )
        if found is None:
            self._session_key = None
            return None
        data, expires = found
        return self.model(session_key=self.session_key, session_data=data, expire_date=expires)

    def save(self, must_create=False):
        if must_create or self.session_key is None:
            return super().save(must_create)
        data = self.encode(self._get_session())
        using = router.db_for_write(self.model)
        expires = param(Session, "expire_date", self.get_expiry_date(), using)
        with connections[using].cursor() as cursor:
            cursor.execute(statements()[1], [data, expires, self.session_key])
            if cursor.rowcount == 0:  # deleted meanwhile (logged out elsewhere, clearsessions)
                raise UpdateError
