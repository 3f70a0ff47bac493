import os
from functools import wraps

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.csp import CSP
from django.views.decorators.cache import never_cache
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_safe

from shop.cart.cart import Cart

from . import graphs as metrics_graphs
from .session_info import session_cookie_report

GRAPHS_REFRESH = 5  # seconds between redraws of /lab/graphs/

# The sessionlab and soak reports are self-contained files that also open from disk, so their
# styles (and the soak's SVG) are inline; they have no script, and this policy allows none.
REPORT_CSP = {
    "default-src": [CSP.NONE],
    "style-src": [CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.NONE],
}


@never_cache
@require_safe
def probe(request):
    """What this server knows about the caller's session, as JSON (contract in DESIGN.md)."""
    user = request.user
    return JsonResponse(
        {
            "server": settings.SHOP_SERVER_NAME,
            "host": settings.SHOP_HOST_NAME,
            "pid": os.getpid(),
            "engine": settings.SESSION_ENGINE,
            "profile": settings.SHOP_PROFILE,
            "key_id": settings.SHOP_SECRET_KEY_ID or None,
            "authenticated": user.is_authenticated,
            "username": user.get_username() if user.is_authenticated else None,
            "cart_items": len(Cart(request.session)),
        }
    )


def staff_only_when_hardened(view):
    """In hardened mode (SHOP_SECURE) the lab's pages are for staff: they describe the servers."""
    staff_view = staff_member_required(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        return (staff_view if settings.SHOP_SECURE else view)(request, *args, **kwargs)

    return wrapper


@never_cache
@require_safe
@staff_only_when_hardened
def lab(request):
    """The live page: this request's server and session, and a burst of probes to compare."""
    context = {"cookie": session_cookie_report(request), "key_id": settings.SHOP_SECRET_KEY_ID}
    return render(request, "lab/lab.html", context | graphs_context())


@never_cache
@require_safe
@staff_only_when_hardened
def graphs(request):
    """The lab's graphs alone, redrawn every few seconds (no script: a refresh)."""
    return render(request, "lab/graphs.html", graphs_context())


def graphs_context():
    """The graphs from Prometheus, or why there are none."""
    try:
        return {"graphs": metrics_graphs.panels(), "refresh": GRAPHS_REFRESH}
    except metrics_graphs.Unavailable as why:
        return {"graphs_missing": str(why), "refresh": GRAPHS_REFRESH}


@never_cache
@require_safe
@staff_only_when_hardened
def report(request):
    """The latest ``manage.py sessionlab`` report, or a page that says how to make one."""
    return _latest_report(request, "latest.html", "lab/no_report.html")


@never_cache
@require_safe
@staff_only_when_hardened
def soak_report(request):
    """The latest ``manage.py soak`` report, or a page that says how to make one."""
    return _latest_report(request, "soak-latest.html", "lab/no_soak_report.html")


def _latest_report(request, name, missing):
    """A report the tools wrote into SHOP_LAB_RESULTS_DIR (the shop imports nothing of them)."""
    latest = settings.SHOP_LAB_RESULTS_DIR / name
    try:
        content = latest.read_text()
    except FileNotFoundError:
        return render(request, missing, {"path": latest}, status=404)
    return _report_file(request, content)


@csp_override(REPORT_CSP)
def _report_file(request, content):
    return HttpResponse(content)
