import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac


class User(AbstractUser):
    """The shop's user. Custom from the first migration so fields can be added later."""

    # Part of every session's auth hash: bumping it logs out every session of this user,
    # including a copied signed cookie that no server-side store could otherwise revoke.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)

    def _get_session_auth_hash(self, secret=None):
        # Django's hash covers only the password; both the current hash and the
        # SECRET_KEY_FALLBACKS hashes go through this one method.
        return salted_hmac(
            "shop.accounts.User.session_auth_hash",
            f"{self.password}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def save(self, *args, **kwargs):
        """Save everything but ``session_epoch``, which only ``end_all_sessions()`` changes.

        An instance loaded before "log out of all devices" (a slow request, a script) still
        holds the old epoch: a full save would write it back and revive every revoked session.
        A new user's row is written whole.
        """
        if not self._state.adding and not kwargs.get("force_insert") and kwargs.get("update_fields") is None:
            deferred = self.get_deferred_fields()
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name != "session_epoch" and field.attname not in deferred
            ]
        super().save(*args, **kwargs)

    def end_all_sessions(self):
        """Invalidate every session this user has anywhere, on any engine."""
        User.objects.filter(pk=self.pk).update(session_epoch=F("session_epoch") + 1)
        self.refresh_from_db(fields=["session_epoch"])


def new_device_id():
    """A Device's public id: in its session and in the URL that ends it; 128 random bits."""
    return secrets.token_urlsafe(16)


class DeviceQuerySet(models.QuerySet):
    """A session expires SESSION_COOKIE_AGE after it was last saved, which is at most its last
    request, and ``last_seen`` lags requests by up to SEEN_EVERY: a record not seen for longer
    belongs to an expired session."""

    @staticmethod
    def _seen_since():
        return timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE) - Device.SEEN_EVERY

    def live(self):
        return self.filter(last_seen__gte=self._seen_since())

    def expired(self):
        return self.filter(last_seen__lt=self._seen_since())


class Device(models.Model):
    """One signed-in session of a user: when it started, when and from where it was last seen.

    Its ``public_id`` is in the session, and every signed-in request must name a record that still
    exists (shop/accounts/devices.py). Deleting the record ends that session alone, on any engine:
    a signed cookie too, which no server could otherwise take back.
    """

    # last_seen is written at most this often: no write per request.
    SEEN_EVERY = timedelta(minutes=1)
    # Live records per user; a new sign-in ends the least recently seen beyond it.
    MAX_PER_USER = 20

    public_id = models.CharField(max_length=22, unique=True, default=new_device_id, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="devices")
    created = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)
    # nginx's view of the client, and the browser's own description of itself (shortened).
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)

    objects = DeviceQuerySet.as_manager()

    def __str__(self):
        return f"{self.user} since {self.created:%Y-%m-%d %H:%M}"

    @property
    def seen_recently(self):
        """Seen within SEEN_EVERY: ``last_seen`` is not written more often, so "now" is all it says."""
        return timezone.now() - self.last_seen < self.SEEN_EVERY

    @property
    def browser(self):
        """A short name for people ("Firefox on Linux"); the full user agent is kept beside it."""
        agent = self.user_agent
        name = next((name for token, name in BROWSERS if token in agent), None)
        system = next((system for token, system in SYSTEMS if token in agent), None)
        if name and system:
            return f"{name} on {system}"
        return name or system or agent[:40] or "Unknown browser"


# Checked in order: Edge and Opera also say Chrome, Chrome also says Safari, Android says Linux.
BROWSERS = [
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
]
SYSTEMS = [
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
]
