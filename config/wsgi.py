"""WSGI entry point for gunicorn. The session profile defaults to ``db``.

Without ``DEBUG`` pages link content-hashed static names (``css/shop.<hash>.css``) that only the
manifest ``collectstatic`` writes knows, so a server started without it would answer 500 on every
page. It refuses to start instead, with one line that says what to run (runstack always collects
first, into its run folder).
"""

import os
import sys

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.db")

application = get_wsgi_application()

# gunicorn's "app failed to load": its master stops on it, where for any other exit code of a
# worker that cannot load the app it would start another one, forever.
APP_FAILED_TO_LOAD = 4


def static_files_are_collected():
    if settings.DEBUG or not isinstance(staticfiles_storage, ManifestFilesMixin):
        return True  # pages link plain names, which need no manifest
    return staticfiles_storage.exists(staticfiles_storage.manifest_name)


if not static_files_are_collected():
    print(
        f"static files are not collected in {settings.STATIC_ROOT}: "
        "run `python manage.py collectstatic --noinput` first",
        file=sys.stderr,
        flush=True,
    )
    sys.exit(APP_FAILED_TO_LOAD)
