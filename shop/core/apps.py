from django.apps import AppConfig
from django.core.signals import request_finished, request_started


class CoreConfig(AppConfig):
    """What every deployment of the shop needs: served-by, /healthz, request ids, error pages,
    the strict cache session engine. The lab (``shop.lab``) is an add-on on top of it."""

    name = "shop.core"

    def ready(self):
        from . import metrics  # noqa: F401 (connects its receivers of the login signals)
        from .request_id import forget_request_id, remember_request_id

        request_started.connect(remember_request_id, dispatch_uid="shop.core.request_id.started")
        request_finished.connect(forget_request_id, dispatch_uid="shop.core.request_id.finished")
