from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from sla.signals import responses_breached
from tests.tickets.factories import ClientSiteFactory, TicketFactory
from tickets.models import Kind, Ticket

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning

MINUTES = {  # the seeded policies' first-response windows
    ("incident", "high"): 60,
    ("incident", "medium"): 8 * 60,
    ("incident", "low"): 16 * 60,
    ("general", ""): 8 * 60,
    ("task", ""): 8 * 60,
    ("change", ""): 8 * 60,
}


def overdue_ticket(*, kind: str = Kind.INCIDENT, impact: str = "high", site=None, **extra):
    """A ticket filed at T0 whose first response was due one window later (as the SLA engine
    would have set it), not yet responded to."""
    window = timedelta(minutes=MINUTES[(kind, impact)])
    return TicketFactory(
        kind=kind,
        impact=impact,
        site=site or ClientSiteFactory(),
        response_due_at=T0 + window,
        **extra,
    )


def breach(ticket: Ticket, *, at: datetime | None = None) -> Ticket:
    """What the scan does when it records the first-response breach."""
    at = at or ticket.response_due_at
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().select_related("site").get(pk=ticket.pk)
        locked.response_breached_at = at
        locked.save(update_fields=["response_breached_at"])
        responses_breached.send(sender=Ticket, tickets=[locked])
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def site():
    return ClientSiteFactory(name="St. Mary's Hospital", slug="st-marys")
