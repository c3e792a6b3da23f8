from django.urls import path

from . import evidence_views, views

app_name = "backoffice"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("reports/sla/", views.sla_report, name="sla-report"),
    path("reports/sla/evidence-pack/", evidence_views.evidence_pack, name="evidence-pack"),
    path("preferences/", views.preferences, name="preferences"),
]
