"""Carry nginx's X-Request-ID into Django's log lines, so one id follows a request through
nginx's access log, gunicorn's access log and anything Django logs about it.

Set on request_started, cleared on request_finished, rather than in a middleware: Django
logs 4xx and 5xx responses after the middleware chain has returned.
"""

import logging
from contextvars import ContextVar

current_request_id = ContextVar("current_request_id", default="-")


def remember_request_id(sender, environ=None, **kwargs):
    current_request_id.set((environ or {}).get("HTTP_X_REQUEST_ID", "-")[:64])


def forget_request_id(sender, **kwargs):
    current_request_id.set("-")


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = current_request_id.get()
        return True
