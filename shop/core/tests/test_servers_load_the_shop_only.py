"""A gunicorn worker loads the shop, never the tools that start and drive it (``tools/``)."""

import json
import subprocess
import sys

import pytest
from django.conf import settings

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
def test_a_server_imports_no_tool(env):
    loaded = modules_of_a_server(env)
    assert "shop.catalog.views" in loaded  # it did load the shop
    assert [name for name in loaded if name.startswith(TOOLS)] == []
