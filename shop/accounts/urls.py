from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("signup/", views.SignupView.as_view(), name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("logout_everywhere/", views.logout_everywhere, name="logout_everywhere"),
    path("password_change/", views.PasswordChangeView.as_view(), name="password_change"),
    path("orders/", views.order_history, name="orders"),
    path("sessions/", views.session_list, name="sessions"),
    path("sessions/<str:device_id>/end/", views.end_session, name="end_session"),
]
