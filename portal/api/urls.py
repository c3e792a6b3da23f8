from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .escalation import TicketEscalateView

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path(
        "tickets/<str:reference>/escalate/",
        TicketEscalateView.as_view(),
        name="api-ticket-escalate",
    ),
]
