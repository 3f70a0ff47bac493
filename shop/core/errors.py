"""The 500 handler: a session store that is down is a 503 the shopper can understand."""

import sys

from django.http import HttpResponse, HttpResponseServerError
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MasterDownError, ReadOnlyError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import metrics

# Down, or a member of a Redis group that cannot take this command while the group changes hands:
# a primary demoted by a failover (READONLY), a replica whose primary is gone (MASTERDOWN), and a
# primary with too few replicas in sync (NOREPLICAS, a plain ResponseError: store_down).
STORE_DOWN = (ConnectionInterrupted, RedisConnectionError, RedisTimeoutError, ReadOnlyError, MasterDownError)


def too_few_replicas(error):
    """Whether ``error`` is a group's primary refusing a write (``min-replicas-to-write``); redis-py has
    no class of its own for it (a pipeline's error names the command first)."""
    return isinstance(error, ResponseError) and "NOREPLICAS" in str(error)


def store_down(error):
    """Whether ``error`` means the session store cannot answer now (django-redis re-raises Redis's own)."""
    return isinstance(error, STORE_DOWN) or too_few_replicas(error)


@requires_csrf_token
def server_error(request):
    """Django calls this while handling the uncaught exception, so sys.exc_info() names it."""
    if store_down(sys.exc_info()[1]):
        metrics.unavailable(sys.exc_info()[1])
        # Rendered without the request: the page must not touch the session again. An order
        # placed before the store failed (the session is saved last) is named, not denied.
        context = {"order": getattr(request, "placed_order", None)}
        response = HttpResponse(loader.render_to_string("503.html", context), status=503)
        response["Retry-After"] = "5"
        return response
    return HttpResponseServerError(loader.render_to_string("500.html"))
