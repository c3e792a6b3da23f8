"""Staff read every back-office time in the zone they chose (Preferences); without a choice,
a ticket's page follows its site's zone (see TicketAdmin) and lists show each row's site."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from tickets.clockface import zone_named
from tickets.selectors import is_staff, user_timezone

BACK_OFFICE_PREFIXES = ("/admin/", "/staff/")


class StaffTimezoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        preferred = ""
        if request.path.startswith(BACK_OFFICE_PREFIXES) and is_staff(request.user):
            preferred = user_timezone(request.user)
        # Read by the back office's templates; HttpRequest declares no such attribute.
        request.staff_timezone = preferred  # type: ignore[attr-defined]
        if not preferred:
            return self.get_response(request)
        with timezone.override(zone_named(preferred)):
            return self.get_response(request)
