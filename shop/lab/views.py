import os

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from shop.cart.cart import Cart

from .session_info import session_cookie_report


@require_safe
def healthz(request):
    """Liveness for the balancer and runstack: answers without touching the session."""
    return HttpResponse("ok", content_type="text/plain")


@never_cache
@require_safe
def probe(request):
    """What this server knows about the caller's session, as JSON (contract in DESIGN.md)."""
    user = request.user
    return JsonResponse(
        {
            "server": settings.SHOP_SERVER_NAME,
            "pid": os.getpid(),
            "engine": settings.SESSION_ENGINE,
            "profile": settings.SHOP_PROFILE,
            "authenticated": user.is_authenticated,
            "username": user.get_username() if user.is_authenticated else None,
            "cart_items": len(Cart(request.session)),
        }
    )


@never_cache
@require_safe
def lab(request):
    """The live page: this request's server and session, and a burst of probes to compare."""
    return render(request, "lab/lab.html", {"cookie": session_cookie_report(request)})
