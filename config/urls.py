from django.apps import apps
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("shop.core.urls")),
    path("accounts/", include("shop.accounts.urls")),
    path("cart/", include("shop.cart.urls")),
    path("", include("shop.orders.urls")),
    path("", include("shop.catalog.urls")),
]
if apps.is_installed("shop.lab"):
    urlpatterns.insert(1, path("", include("shop.lab.urls")))

handler500 = "shop.core.errors.server_error"
