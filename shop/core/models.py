from django.db import models


class SessionLock(models.Model):
    """A per-session lock held in the database (shop/core/session_lock.py): one row while held.

    ``name`` is a hash of the session cookie, never the cookie itself; ``token`` says which
    request holds it, so a request whose lock expired cannot release its successor's.
    """

    name = models.CharField(max_length=64, primary_key=True)
    token = models.CharField(max_length=32)
    expires = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.name[:12]}… until {self.expires:%H:%M:%S}"
