"""Ratings in the back office: read-only (they are the client's words), and the box on the
ticket's page."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from portal.backoffice.clock import ClockFaceMixin, clock_column
from portal.backoffice.records import StaffRecordMixin
from tickets.clockface import when_text
from tickets.selectors import tickets_visible_to

from .models import TicketRating
from .selectors import ratings_of


def ticket_ratings_html(*, ticket: Any) -> SafeString | str:
    """Each rating of the ticket: choice, by whom, when, comment."""
    ratings = ratings_of(ticket=ticket)
    if not ratings:
        return "Not rated."
    zone = timezone.get_current_timezone()
    return format_html_join(
        "<br>",
        '<span class="rating rating-{}">{}</span> by {} at {}{}',
        (
            (
                r.choice,
                r.get_choice_display(),
                r.rated_by.get_full_name() if r.rated_by else "a former member",
                when_text(r.rated_at, zone),
                format_html(": “{}”", r.comment) if r.comment else "",
            )
            for r in ratings
        ),
    )


@admin.register(TicketRating)
class TicketRatingAdmin(StaffRecordMixin, ClockFaceMixin, admin.ModelAdmin):
    list_display = ["ticket", "site", "choice", "rated_when", "rated_by", "comment"]
    list_filter = ["choice", "ticket__site"]
    list_select_related = ["ticket", "ticket__site", "rated_by"]
    search_fields = ["ticket__reference", "comment"]
    date_hierarchy = "rated_at"
    fields = ("ticket", "choice", "rated_by", "rated_when", "comment")
    readonly_fields = fields
    site_timezone_path = "ticket__site__timezone"
    rated_when = clock_column("rated_at", "rated at")

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).filter(ticket__in=tickets_visible_to(request.user))

    @admin.display(ordering="ticket__site__name")
    def site(self, rating: TicketRating) -> str:
        return rating.ticket.site.name
