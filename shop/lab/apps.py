from django.apps import AppConfig
from django.core.signals import request_finished, request_started


class LabConfig(AppConfig):
    name = "shop.lab"

    def ready(self):
        from .request_id import forget_request_id, remember_request_id

        request_started.connect(remember_request_id, dispatch_uid="shop.lab.request_id.started")
        request_finished.connect(forget_request_id, dispatch_uid="shop.lab.request_id.finished")
