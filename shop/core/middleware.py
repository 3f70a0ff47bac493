"""Name the server and process that answered, on every response."""

import os

from django.conf import settings


def served_by_label():
    return f"{settings.SHOP_SERVER_NAME}:{os.getpid()}"


def served_by(get_response):
    def middleware(request):
        response = get_response(request)
        response["X-Served-By"] = served_by_label()
        return response

    return middleware
