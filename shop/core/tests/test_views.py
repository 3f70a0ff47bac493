"""What every deployment answers: X-Served-By, /healthz, request ids in log lines."""

import logging
import os

import pytest
from django.conf import settings

from shop.core.request_id import RequestIdFilter


@pytest.mark.django_db
def test_every_response_names_the_server(client, settings):
    settings.SHOP_SERVER_NAME = "server7"
    for url in ["/", "/healthz", "/lab/probe", "/no-such-page/"]:
        assert client.get(url)["X-Served-By"] == f"server7:{os.getpid()}"
    assert f"server7:{os.getpid()}" in client.get("/").content.decode()  # the footer too


def test_healthz_answers_without_touching_the_session(client):
    """No django_db mark: any database access (a db session load) would fail this test."""
    client.cookies["sessionid"] = "some-session-key"
    response = client.get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok")
    assert "sessionid" not in response.cookies


@pytest.mark.django_db
def test_django_log_lines_carry_the_request_id(client, caplog):
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.get("/no-such-page/", HTTP_X_REQUEST_ID="abc123")
    assert [record.request_id for record in caplog.records] == ["abc123"]
    formatter = logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"])
    assert "rid=abc123" in formatter.format(caplog.records[0])
