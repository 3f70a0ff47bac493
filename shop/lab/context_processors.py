from django.conf import settings

from .middleware import served_by_label


def served_by(request):
    return {
        "served_by": served_by_label(),
        "session_engine": settings.SESSION_ENGINE,
        "session_profile": session_profile(),
    }


def session_profile():
    """The profile is the settings module's last part: config.settings.cache -> cache."""
    return settings.SETTINGS_MODULE.rsplit(".", 1)[-1]
