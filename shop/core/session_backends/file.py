"""Django's file session engine, except that a relative expiry ends the session on the server.

Upstream, a session given ``set_expiry(seconds)`` never expires on the server: ``_expiry_date()``
returns the stored number of seconds as it is, ``get_expiry_age()`` reads a number as the age left,
so ``load()`` always finds time left and ``clearsessions`` never deletes the file. Here the number
counts from the file's last write, as the db engine counts it from the save. Other expiries (a
date, or none: ``SESSION_COOKIE_AGE``) are Django's.

The folder is read from ``SESSION_FILE_PATH`` whenever a store is made: Django keeps the first
folder it sees on the class for the life of the process, which a later setting never reaches.
"""

import datetime
import os
import tempfile

from django.conf import settings
from django.contrib.sessions.backends.file import SessionStore as DjangoFileSessionStore
from django.core.exceptions import ImproperlyConfigured


class SessionStore(DjangoFileSessionStore):
    @classmethod
    def _get_storage_path(cls):
        path = getattr(settings, "SESSION_FILE_PATH", None) or tempfile.gettempdir()
        if not os.path.isdir(path):
            raise ImproperlyConfigured(f"The session folder {path!r} does not exist: set SESSION_FILE_PATH")
        return path

    def _expiry_date(self, session_data):
        expiry = session_data.get("_session_expiry")
        if expiry and isinstance(expiry, int | float):  # set_expiry(seconds); 0 is "at browser close"
            return self._last_modification() + datetime.timedelta(seconds=expiry)
        return super()._expiry_date(session_data)
