"""WSGI entry point for gunicorn. The session profile defaults to ``db``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.db")

application = get_wsgi_application()
