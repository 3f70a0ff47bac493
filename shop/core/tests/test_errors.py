"""A session store that is down must give a clear 503, never a 500 or a silent logout."""

import pytest
from django.test import Client

REDIS_ENGINES = ["shop.core.session_backends.cache", "django.contrib.sessions.backends.cached_db"]


@pytest.fixture(params=REDIS_ENGINES)
def redis_down(request, settings):
    """The Redis profiles' engines, pointed at a port where no Redis listens."""
    settings.SESSION_ENGINE = request.param
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }


@pytest.fixture
def signed_in_browser(user):
    """A shopper whose session was saved (in the database, which cached_db reads too)."""
    browser = Client(raise_request_exception=False)
    browser.force_login(user)
    return browser


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/cart/", "/lab/probe"])
def test_store_down_is_a_503_page(signed_in_browser, redis_down, url):
    response = signed_in_browser.get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Sessions temporarily unavailable" in response.content.decode()


@pytest.mark.django_db
def test_other_errors_stay_500(settings):
    client = Client(raise_request_exception=False)
    settings.ROOT_URLCONF = "shop.core.tests.broken_urls"
    response = client.get("/boom/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
