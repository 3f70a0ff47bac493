"""The default profile with the lab app removed: the shop must not need it."""

from config.settings.db import *  # noqa: F403

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "shop.lab"]  # noqa: F405
