from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("shop.accounts.urls")),
    path("cart/", include("shop.cart.urls")),
    path("", include("shop.orders.urls")),
    path("", include("shop.lab.urls")),
    path("", include("shop.catalog.urls")),
]

handler500 = "shop.lab.errors.server_error"
