"""The project's last-resort error view: a database that cannot be reached is a 503 with
`Retry-After`, in the API's JSON error format under /api/ and as the friendly page elsewhere;
anything else is the friendly 500 page."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from .api.exceptions import error_body
from .health import healthz

RETRY_AFTER_SECONDS = 30


def database_unreachable(exc: BaseException | None) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: Django calls it while handling the exception, so it is still at hand. It
    renders without a request context, which would need the database."""
    if not database_unreachable(sys.exc_info()[1]):
        return HttpResponse(render_to_string("500.html"), status=500)
    if request.path == "/healthz":  # failed before its view (a session cookie, say)
        return healthz(request)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            error_body(
                status_code=503,
                code="service_unavailable",
                detail="The service is briefly unavailable; retry after the time given.",
            ),
            status=503,
        )
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
