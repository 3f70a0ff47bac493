from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "shop.accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from . import lockout  # noqa: F401 (connects its signal receiver)
        from .devices import on_login, on_logout
        from .lifetime import on_sign_in

        user_logged_in.connect(on_sign_in, dispatch_uid="shop.accounts.lifetime.on_sign_in")
        user_logged_in.connect(on_login, dispatch_uid="shop.accounts.devices.on_login")
        user_logged_out.connect(on_logout, dispatch_uid="shop.accounts.devices.on_logout")
