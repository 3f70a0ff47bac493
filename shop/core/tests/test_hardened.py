"""Hardened mode (SHOP_SECURE=1) must pass Django's deployment checks with no warnings."""

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

from shop.core.profiles import PROFILES


def manage(*args, **env):
    """Run manage.py with these variables on top of ours (None removes one)."""
    merged = {key: value for key, value in (os.environ | env).items() if value is not None}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=merged,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("profile", PROFILES)
def test_check_deploy_passes_in_hardened_mode(profile):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SHOP_SECURE="1",
        DEBUG="true",  # hardened mode must win over a stray DEBUG
        SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SETTINGS_MODULE=f"config.settings.{profile}",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_without_hardened_mode():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", DJANGO_SETTINGS_MODULE="config.settings.db"
    )
    assert result.returncode != 0
    assert "SECURE_HSTS_SECONDS" in result.stderr


def test_hardened_mode_refuses_to_start_without_a_secret_key():
    result = manage("check", SHOP_SECURE="1", SECRET_KEY=None)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
