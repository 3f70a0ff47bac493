from django.apps import AppConfig


class LabConfig(AppConfig):
    name = "shop.lab"
