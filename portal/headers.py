"""Response headers that are the same rule for every page: nothing signed-in or from the API
is kept by a browser or proxy cache, and the browser features the portal never uses are off.
(The Content-Security-Policy comes from django-csp's middleware, configured in settings.)"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if signed_in or request.path.startswith("/api/"):
            # A view that chose its own (attachment downloads: "private, no-store") keeps it.
            response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
