from django.urls import path

from . import views

app_name = "lab"
urlpatterns = [
    path("lab/", views.lab, name="lab"),
    path("lab/probe", views.probe, name="probe"),
    path("lab/graphs/", views.graphs, name="graphs"),
    path("lab/report/", views.report, name="report"),
    path("lab/soak/", views.soak_report, name="soak_report"),
]
