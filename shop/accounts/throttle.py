"""Login throttling shared by every server: 5 failures per username or per address lock
further attempts for 15 minutes."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from .models import LoginFailure

FAILURE_LIMIT = 5
LOCKOUT = timedelta(minutes=15)


def client_address(request):
    """The caller's address; behind our nginx, the one nginx saw (last X-Forwarded-For hop)."""
    address = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if forwarded and address in settings.SHOP_TRUSTED_PROXIES:
        return forwarded.rsplit(",", 1)[-1].strip()
    return address


def throttle_keys(request, username):
    return [f"user:{username.strip().lower()[:150]}", f"addr:{client_address(request)}"]


def is_locked_out(keys):
    recent = LoginFailure.objects.filter(key__in=keys, created__gte=timezone.now() - LOCKOUT)
    return recent.values("key").annotate(n=Count("id")).filter(n__gte=FAILURE_LIMIT).exists()


def record_failure(keys):
    LoginFailure.objects.filter(key__in=keys, created__lt=timezone.now() - LOCKOUT).delete()
    LoginFailure.objects.bulk_create(LoginFailure(key=key) for key in keys)


def forget_failures(keys):
    LoginFailure.objects.filter(key__in=keys).delete()
