"""The shop's Jinja2 environment: one CSRF token per page, asked only when shown; Django's dates."""

import datetime
import re

import pytest
from django.template import engines
from django.test import RequestFactory
from django.utils import timezone

from shop.core.jinja import csrf

jinja2 = engines["jinja2"]


def rendered(source, **context):
    return jinja2.from_string(source).render(context)


def test_a_page_shows_the_same_token_in_every_form():
    request = RequestFactory().get("/")
    html = rendered("{{ csrf_input }}<p>{{ csrf_input }}</p>{{ csrf_token }}", **csrf(request))
    tokens = [*re.findall(r'value="([A-Za-z0-9]{64})"', html), html.rsplit("</p>", 1)[1]]
    assert len(tokens) == 3 and len(set(tokens)) == 1
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"]  # the cookie the token belongs to is sent


def test_a_page_that_shows_no_form_asks_for_no_token():
    """So an anonymous catalog page sets no CSRF cookie, and nginx may cache it."""
    request = RequestFactory().get("/")
    assert rendered("<p>{{ 1 + 1 }}</p>", **csrf(request)) == "<p>2</p>"
    assert "CSRF_COOKIE" not in request.META and "CSRF_COOKIE_NEEDS_UPDATE" not in request.META


def test_the_processor_gives_the_field_djangos_form_expects():
    request = RequestFactory().get("/")
    field = str(csrf(request)["csrf_input"])
    token = request.META["CSRF_COOKIE"]
    assert field.startswith('<input type="hidden" name="csrfmiddlewaretoken" value="') and token


def test_dates_show_in_the_current_time_zone_as_djangos_templates_do():
    moment = datetime.datetime(2026, 1, 1, 23, 30, tzinfo=datetime.UTC)
    with timezone.override("Europe/Paris"):
        assert rendered('{{ moment|date("Y-m-d H:i") }}', moment=moment) == "2026-01-02 00:30"
    assert rendered("{{ n }} line{{ n|pluralize }}", n=2) == "2 lines"


def test_a_page_rendered_without_its_request_still_renders():
    """The 409 and 503 pages are rendered without the request, so as not to touch the session."""
    html = jinja2.get_template("409.html").render({})
    assert "Still busy with your other request" in html
    assert 'href="/accounts/login/"' in html


@pytest.mark.django_db
def test_a_signed_in_product_page_shows_one_token_in_both_its_forms(shopper_client, product):
    """The product body's form (its cached slot) and the header's log-out form."""
    html = shopper_client.get(product.get_absolute_url()).text
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})"', html)
    assert len(tokens) == 2 and len(set(tokens)) == 1
