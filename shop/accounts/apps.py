from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "shop.accounts"

    def ready(self):
        from . import lockout  # noqa: F401 (connects its signal receiver)
