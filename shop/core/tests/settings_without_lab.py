"""The default profile with the lab app removed: the shop must not need it."""

from config.settings.db import *  # noqa: F403

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "shop.lab"]  # noqa: F405
# Unit tests run without collectstatic: the plain storage, as conftest.py gives in-process tests.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
