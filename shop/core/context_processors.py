from django.conf import settings
from django.urls import NoReverseMatch

from .cached_urls import reverse
from .middleware import served_by_label


def served_by(request):
    """The footer: who answered, with which session engine; and the lab's page, when installed."""
    try:
        lab_url = reverse("lab:lab")
    except NoReverseMatch:
        lab_url = None
    return {
        "served_by": served_by_label(),
        "session_engine": settings.SESSION_ENGINE,
        "session_profile": settings.SHOP_PROFILE,
        "lab_url": lab_url,
    }
