from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


@require_safe
def healthz(request):
    """Liveness for the balancer and runstack: answers without touching the session."""
    return HttpResponse("ok", content_type="text/plain")


@never_cache
@require_safe
def readyz(request):
    """Readiness: this server reaches the stores it needs (the database, and the cache, which is
    Redis under the Redis profiles). runstack takes a server that is alive but not ready out of
    nginx's rotation, so its shoppers are served by the others instead of getting 503s."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        cache.get("readyz")
    except Exception as error:  # any store failure: the answer says which
        return HttpResponse(
            f"not ready: {type(error).__name__}: {error}", status=503, content_type="text/plain"
        )
    return HttpResponse("ready", content_type="text/plain")
