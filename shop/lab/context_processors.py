from django.conf import settings

from .middleware import served_by_label


def served_by(request):
    return {
        "served_by": served_by_label(),
        "session_engine": settings.SESSION_ENGINE,
        "session_profile": settings.SHOP_PROFILE,
    }
