from django.http import HttpResponse
from django.views.decorators.http import require_safe


@require_safe
def healthz(request):
    """Liveness for the balancer and runstack: answers without touching the session."""
    return HttpResponse("ok", content_type="text/plain")
