from django.urls import path

from . import views

app_name = "backoffice"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("reports/sla/", views.sla_report, name="sla-report"),
    path("preferences/", views.preferences, name="preferences"),
]
