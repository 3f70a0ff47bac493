"""A gunicorn worker loads the shop, never the tools that start and drive it (``tools/``)."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

from conftest import manage
from shop.core.profiles import PROFILES

# What a worker imports: the WSGI application, then every view (through the URLconf).
LOAD_A_SERVER = """
import json, sys
from django.urls import get_resolver
from config.wsgi import application
get_resolver().url_patterns
print(json.dumps(sorted(sys.modules)))
"""
TOOLS = ("tools.stack", "tools.experiments", "tools.bench", "tools.client", "tools.management", "httpx")


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    """A server starts only with collected static files (config/wsgi.py), as runstack's do."""
    folder = tmp_path_factory.mktemp("static")
    manage({**os.environ, "STATIC_ROOT": str(folder)}, "collectstatic", "--noinput")
    return str(folder)


def modules_of_a_server(env):
    result = subprocess.run(
        [sys.executable, "-c", LOAD_A_SERVER],
        env={**env, "PATH": "/usr/bin:/bin"},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    "env",
    [
        *({"DJANGO_SETTINGS_MODULE": f"config.settings.{profile}"} for profile in PROFILES),
        {"DJANGO_SETTINGS_MODULE": "config.settings.migrating", "SHOP_SESSION_PROFILES": "cache,db"},
        {"DJANGO_SETTINGS_MODULE": "config.settings.db", "SHOP_SECURE": "1", "SECRET_KEY": "x" * 50},
    ],
    ids=[*PROFILES, "migrating", "hardened"],
)
def test_a_server_imports_no_tool(env, static_root):
    loaded = modules_of_a_server({**env, "STATIC_ROOT": static_root})
    assert "shop.catalog.views" in loaded  # it did load the shop
    assert [name for name in loaded if name.startswith(TOOLS)] == []
