"""The profile registry (shop/core/profiles.py) against the settings modules it describes."""

from importlib import import_module
from pathlib import Path

import pytest
from django.conf import settings

from shop.core.profiles import DEFAULT, PROFILES, REGISTRY, UnknownProfile, needing_redis, profile

SETTINGS = Path(settings.BASE_DIR) / "config" / "settings"
NOT_PROFILES = {"__init__", "base", "migrating"}


def test_every_settings_module_is_a_registered_profile_and_back():
    modules = {path.stem for path in SETTINGS.glob("*.py")} - NOT_PROFILES
    assert modules == set(PROFILES)
    assert DEFAULT in PROFILES


@pytest.mark.parametrize("name", PROFILES)
def test_a_profile_module_sets_what_the_registry_says(name):
    entry, module = REGISTRY[name], import_module(f"config.settings.{name}")
    assert module.__doc__.startswith(f"Profile ``{name}``")
    assert (name, entry.engine) == (module.SHOP_PROFILE, module.SESSION_ENGINE)
    assert entry.lock_store == module.SHOP_SESSION_LOCK_STORE
    in_redis = module.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    assert in_redis == entry.needs_redis
    assert hasattr(module, "SESSION_FILE_PATH") == entry.on_host_disk
    assert hasattr(import_module(entry.engine), "SessionStore")


def test_the_facts_fit_together():
    for entry in REGISTRY.values():
        assert entry.across_servers or not entry.across_hosts  # hosts hold servers
        # No server holds a cookie session: its fence between two tabs is in the database every
        # profile has.
        assert entry.lock_store == "database" or not entry.in_cookie
        assert entry.migratable == entry.across_servers  # a session one process holds cannot move
    assert entry.settings_module == f"config.settings.{entry.name}"


def test_unknown_names_are_refused_with_the_choices():
    with pytest.raises(UnknownProfile, match="unknown profile 'memcached'; choose one of locmem, file"):
        profile("memcached")
    assert needing_redis(["db", "cached_db"]) and not needing_redis(["db", "signed_cookies"])
