from django.contrib.auth import views as auth_views
from django.urls import path

from . import escalation_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tickets/<str:reference>/", views.ticket_detail, name="ticket-detail"),
    path(
        "tickets/<str:reference>/escalate/",
        escalation_views.ticket_escalate,
        name="ticket-escalate",
    ),
    path("support/", escalation_views.support, name="support"),
    path("escalation/ack/<str:token>/", escalation_views.escalation_ack, name="escalation-ack"),
]
