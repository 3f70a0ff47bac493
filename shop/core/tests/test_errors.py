"""A session store that is down must give a clear 503, never a 500 or a silent logout."""

import pytest
from django.db.models.signals import post_save
from django.test import Client

from conftest import require_binary
from shop.orders.models import Order
from tools.stack.services import RedisServer

REDIS_ENGINES = ["shop.core.session_backends.cache", "shop.core.session_backends.cached_db"]


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


@pytest.fixture
def redis_of_this_test(tmp_path, settings):
    """A redis-server of its own, which the test may stop, holding the ``cache`` profile's sessions."""
    require_binary("redis-server")
    with RedisServer(tmp_path / "redis") as redis:
        settings.SESSION_ENGINE = "shop.core.session_backends.cache"
        settings.CACHES = {"default": {**settings.REDIS_CACHE, "LOCATION": redis.url}}
        yield redis


@pytest.mark.django_db
def test_a_store_failing_after_the_order_names_the_order_and_a_retry_makes_no_second(
    redis_of_this_test, user, product
):
    """The session is saved after the view returns: if its store fails then, the order exists."""
    browser = Client(raise_request_exception=False)
    browser.force_login(user)
    browser.post(f"/cart/add/{product.pk}/", {"quantity": 2})
    form = {
        "full_name": "Ada",
        "address": "1 Loop Road",
        "city": "Here",
        "postal_code": "1",
        "checkout_token": "5f0c6a5e-1d2b-4c3a-9e8f-7a6b5c4d3e2f",
    }

    def store_fails(sender, **kwargs):
        redis_of_this_test.stop()

    post_save.connect(store_fails, sender=Order, dispatch_uid="store-fails")
    try:
        response = browser.post("/checkout/", form)
    finally:
        post_save.disconnect(dispatch_uid="store-fails", sender=Order)
    [order] = Order.objects.filter(user=user)
    page = response.content.decode()
    assert response.status_code == 503
    assert f"Your order {order.pk} is placed" in page
    assert "nothing was ordered" not in page

    redis_of_this_test.start()  # back, with the session as it was before the checkout
    retry = browser.post("/checkout/", form)
    assert retry.status_code == 302 and retry["Location"] == f"/orders/{order.pk}/"
    assert Order.objects.filter(user=user).count() == 1
    product.refresh_from_db()
    assert product.stock == 3
