from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import F
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
