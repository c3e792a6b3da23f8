"""Reads of client satisfaction: a ticket's ratings, recent ratings for the staff dashboard,
and the monthly figures for the SLA report."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from tickets.models import ClientSite, Ticket

from .models import TicketRating


@dataclass(frozen=True)
class RatingSummary:
    good: int
    bad: int

    @property
    def total(self) -> int:
        return self.good + self.bad

    @property
    def good_percent(self) -> float | None:
        return round(100 * self.good / self.total, 1) if self.total else None


def ratings_of(*, ticket: Ticket) -> list[TicketRating]:
    """A ticket's ratings, newest first (one per resolution)."""
    return list(TicketRating.objects.filter(ticket=ticket).select_related("rated_by"))


def ratings_summary(*, ratings: QuerySet[TicketRating]) -> RatingSummary:
    values = ratings.aggregate(
        good=Count("pk", filter=Q(choice=TicketRating.Choice.GOOD)),
        bad=Count("pk", filter=Q(choice=TicketRating.Choice.BAD)),
    )
    return RatingSummary(good=values["good"], bad=values["bad"])


def ratings_visible(*, tickets: QuerySet[Ticket]) -> QuerySet[TicketRating]:
    """The ratings of the tickets the caller may see (the tenancy selector's queryset)."""
    return TicketRating.objects.filter(ticket__in=tickets)


def ratings_recent(*, tickets: QuerySet[Ticket], limit: int = 10) -> list[TicketRating]:
    return list(
        ratings_visible(tickets=tickets)
        .select_related("ticket", "ticket__site", "rated_by")
        .order_by("-rated_at", "-id")[:limit]
    )


def ratings_month(
    *, tickets: QuerySet[Ticket], site: ClientSite, start: datetime, end: datetime
) -> RatingSummary:
    """The ratings given at a site between `start` and `end` (the report's month)."""
    return ratings_summary(
        ratings=ratings_visible(tickets=tickets).filter(
            ticket__site=site, rated_at__gte=start, rated_at__lt=end
        )
    )
