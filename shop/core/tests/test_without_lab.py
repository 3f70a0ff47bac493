"""The lab is an add-on: without it in INSTALLED_APPS the whole shop still works."""

import json
import os
import subprocess
import sys

from django.conf import settings

# Runs in a fresh process with the lab removed (settings are read once per process).
SHOPPING = """
import json
from decimal import Decimal
from django.test import Client
from shop.catalog.models import Category, Product
kitchen = Category.objects.create(name="Kitchen", slug="kitchen")
kettle = Product.objects.create(category=kitchen, name="Kettle", slug="kettle", price=Decimal("9.50"),
                                stock=3)
client = Client(HTTP_HOST="localhost")
seen = {"home": client.get("/").status_code, "healthz": client.get("/healthz").status_code,
        "lab": client.get("/lab/").status_code, "probe": client.get("/lab/probe").status_code}
password = "a-long-pass-phrase-2026"
seen["signup"] = client.post("/accounts/signup/", {"username": "nolab", "password1": password,
                                                   "password2": password}).status_code
seen["add"] = client.post(f"/cart/add/{kettle.pk}/", {"quantity": 2}).status_code
page = client.get("/cart/").content.decode()
seen["lab_link"] = "Session lab" in page
seen["served_by"] = "served-by" in page
address = {"full_name": "N", "address": "1 Road", "city": "C", "postal_code": "1",
           "checkout_token": "8f14e45f-ceea-467f-a0e6-0e1b2f3c4d5e"}
seen["checkout"] = client.post("/checkout/", address)["Location"]
kettle.refresh_from_db()
seen["stock"] = kettle.stock
print(json.dumps(seen))
"""


def test_the_shop_runs_without_the_lab(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shop.core.tests.settings_without_lab",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shop.sqlite3'}",
    }

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            env=env,
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    manage("migrate", "--noinput")
    seen = json.loads(manage("shell", "--no-imports", "-c", SHOPPING).strip().splitlines()[-1])
    checkout = seen.pop("checkout")
    assert seen == {
        "home": 200,
        "healthz": 200,
        "lab": 404,
        "probe": 404,
        "signup": 302,
        "add": 302,
        "lab_link": False,
        "served_by": True,
        "stock": 1,
    }
    assert checkout.startswith("/orders/")
