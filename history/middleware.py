from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .context import history_request


class HistoryActorMiddleware:
    """Configuration saved during a request is versioned as changed by its user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with history_request(request):
            return self.get_response(request)
