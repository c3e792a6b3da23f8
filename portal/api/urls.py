from django.http import JsonResponse
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from .major_incidents import MajorIncidentViewSet
from .views import TicketViewSet


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Unknown API paths answer in the API's error format rather than with an HTML page, for
    every method (exempt from CSRF: it changes nothing, and a POST must get this 404 too)."""
    return JsonResponse({"status": 404, "code": "not_found", "detail": "Not found."}, status=404)


router = SimpleRouter()
router.register("tickets", TicketViewSet, basename="api-ticket")
router.register("major-incidents", MajorIncidentViewSet, basename="api-major-incident")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    *router.urls,
    re_path(r"", api_not_found),
]
