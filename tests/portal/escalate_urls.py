"""The portal's URLs plus a stand-in for the escalation app's `ticket-escalate` view, so the
ticket page's Escalate button can be tested on a branch without that app's view."""

from django.http import HttpResponse
from django.urls import include, path

urlpatterns = [
    path(
        "tickets/<str:reference>/escalate/",
        lambda request, reference: HttpResponse(),
        name="ticket-escalate",
    ),
    path("", include("portal.urls")),
]
