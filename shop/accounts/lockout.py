"""Login throttling, by django-axes with its database handler: the pieces its settings name.

Every ``authenticate()`` that has a request (the shop's login, the admin's, any other) is
checked and counted by axes in one table every server shares (see AXES_* in the settings).
Here: whose address and which username a failure counts against, the page a locked-out
login gets, what a success forgets, and the purge of expired failures.
"""

import ipaddress

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.shortcuts import render
from django.utils import timezone


class LoginThrottleBackend(AxesStandaloneBackend):
    """axes' check before any other backend: a locked-out username or address gets no further.

    A call without a request comes from code on the server (a shell, the test client's
    ``login()``), never from a visitor, and has no address to count: it is let through to the
    next backend instead of failing like axes' own backend does.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def _is_address(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def client_address(request):
    """The caller's address; behind our nginx, the one nginx saw (last X-Forwarded-For hop).

    X-Forwarded-For is believed only from a trusted proxy, and only if it is an address.
    """
    address = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if forwarded and address in settings.SHOP_TRUSTED_PROXIES:
        last_hop = forwarded.rsplit(",", 1)[-1].strip()
        if _is_address(last_hop):
            return last_hop
    return address if _is_address(address) else None


def login_name(request, credentials):
    """The username a failure counts against: "Alice" and " alice" are one count."""
    username = credentials.get("username") if credentials else request.POST.get("username")
    return None if username is None else str(username).strip().lower()[:150]


def cool_off_minutes():
    return int(get_cool_off().total_seconds() // 60)


def locked_out(request, original_response, credentials):
    """The answer to a login refused by the throttle: a page saying so, 429, and when to retry."""
    minutes = cool_off_minutes()
    response = render(request, "accounts/locked_out.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


@receiver(user_logged_in)
def forget_the_users_failures(sender, request, user, **kwargs):
    """A success clears that username's failures, not its address's.

    axes' AXES_RESET_ON_SUCCESS would clear the address's too, so an attacker with an account
    of their own could guess four passwords, log in, and start over, forever.
    """
    AccessAttempt.objects.filter(username=login_name(request, {"username": user.get_username()})).delete()


def purge_expired_attempts():
    """Delete the failures older than the cool-off, which no longer count; return how many."""
    deleted, _ = AccessAttempt.objects.filter(attempt_time__lt=timezone.now() - get_cool_off()).delete()
    return deleted
