"""Session lifetime (SESSION_COOKIE_AGE) and the idle timeout (SESSION_SAVE_EVERY_REQUEST) on every engine.

(The absolute lifetime since sign-in, SHOP_SESSION_MAX_AGE: shop/accounts/tests/test_lifetime.py.)

The clock is real (Redis expires keys on its own clock), so one timeline serves every profile
at once: sessions made at t=0 with a four-second lifetime, visited at fixed times after it.
Signed cookies carry whole-second timestamps, so "alive" is checked well under four seconds
after the last save and "expired" well over; a visit a second keeps three seconds in hand for a
loaded machine's slow rounds.
"""

import importlib
import os
import subprocess
import sys
import time

import pytest
from django.conf import settings as django_settings
from django.test import Client

from shop.core.profiles import PROFILES

LIFETIME = 4


def test_lifetime_idle_timeout_and_max_age_come_from_the_environment():
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_AGE, s.SESSION_SAVE_EVERY_REQUEST, s.SHOP_SESSION_MAX_AGE)"
    )
    env = {
        **os.environ,
        "SESSION_COOKIE_AGE": "900",
        "SESSION_SAVE_EVERY_REQUEST": "true",
        "SHOP_SESSION_MAX_AGE": "28800",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["900", "True", "28800"], result.stderr


@pytest.fixture
def file_engine_folder(settings, tmp_path):
    settings.SESSION_FILE_PATH = str(tmp_path)
    return tmp_path


@pytest.mark.django_db
@pytest.mark.usefixtures("file_engine_folder")
def test_sessions_expire_after_their_lifetime_or_idle_time_on_every_engine(settings, redis_url, user):
    settings.SESSION_COOKIE_AGE = LIFETIME

    def use(profile, idle_timeout):
        module = importlib.import_module(f"config.settings.{profile}")
        settings.SESSION_ENGINE = module.SESSION_ENGINE
        location = {"LOCATION": redis_url} if "django_redis" in module.CACHES["default"]["BACKEND"] else {}
        settings.CACHES = {"default": module.CACHES["default"] | location}
        settings.SESSION_SAVE_EVERY_REQUEST = idle_timeout

    def logged_in(client, profile, idle_timeout):
        use(profile, idle_timeout)
        return client.get("/lab/probe").json()["authenticated"]

    # Idle-timeout sessions first: the visit at t=0 restarts their clock, however long making the
    # twelve sessions took on a loaded machine; the lifetime sessions are the youngest at t=0.
    absolute, idle = {}, {}
    for clients, idle_timeout in ((idle, True), (absolute, False)):
        for profile in PROFILES:
            use(profile, idle_timeout)
            clients[profile] = Client()
            clients[profile].force_login(user)
    start = time.monotonic()

    def at(seconds):
        time.sleep(max(0.0, start + seconds - time.monotonic()))

    visits = range(LIFETIME + 2)
    for moment in visits:  # a visit a second keeps an idle-timeout session alive...
        at(moment)
        assert {p: logged_in(idle[p], p, True) for p in PROFILES} == dict.fromkeys(PROFILES, True)
        if moment == 0:  # (and reading a session without the idle timeout does not extend it)
            assert {p: logged_in(absolute[p], p, False) for p in PROFILES} == dict.fromkeys(PROFILES, True)
    # ...past the lifetime, which ends the other sessions however active they were.
    assert {p: logged_in(absolute[p], p, False) for p in PROFILES} == dict.fromkeys(PROFILES, False)
    at(visits[-1] + LIFETIME + 1.2)  # idle for longer than the lifetime
    assert {p: logged_in(idle[p], p, True) for p in PROFILES} == dict.fromkeys(PROFILES, False)
