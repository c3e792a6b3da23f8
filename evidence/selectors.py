"""Reads of the evidence app for the faces."""

from django.db.models import QuerySet

from tickets.models import ClientSite, Ticket

from .models import TicketView


def ticket_views_for_site(*, tickets: QuerySet[Ticket], site: ClientSite) -> QuerySet[TicketView]:
    """Who at Rx.Health opened which of the site's tickets (of those the caller sees), newest
    first, with the ticket and attachment at hand."""
    return (
        TicketView.objects.filter(ticket__in=tickets.filter(site=site))
        .select_related("ticket", "attachment")
        .order_by("-at", "-id")
    )
