"""The outage day in the back office: the staff dashboard and the admin ticket queue answer
with the same number of queries whether 50 or 5,000 tickets breached at once, across many
sites, agents and escalation levels (bench/backoffice.py measures 50,000)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from escalation.models import EscalationRecord
from tests.tickets.factories import ClientSiteFactory, StaffFactory, UserFactory
from tickets.models import Kind, Notification, SLAState, Status, Ticket

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
PAGES = [
    "backoffice:dashboard",
    "admin:tickets_ticket_changelist",
]


def _breach(count: int, tag: str, sites, reporters, agents) -> None:
    """`count` tickets whose first response breached an hour ago, at escalation levels 2-4,
    each with its breach email and escalation record, in a few set statements."""
    due = NOW - timedelta(hours=1)
    tickets = Ticket.objects.bulk_create(
        Ticket(
            reference=f"OUT-{tag}-{i}",
            site=sites[i % len(sites)],
            reporter=reporters[i % len(reporters)],
            assignee=agents[i % len(agents)] if i % 5 < 3 else None,
            kind=Kind.INCIDENT,
            impact=("high", "medium", "low")[i % 3],
            status=(Status.NEW, Status.IN_PROGRESS)[i % 2],
            sla_state=SLAState.BREACHED,
            title=f"Platform down {i}",
            description="-",
            response_due_at=due,
            response_breached_at=due,
            escalation_level=2 + i % 3,
            escalated_at=due,
            escalation_next_at=NOW + timedelta(hours=1),
            sla_next_check_at=NOW + timedelta(minutes=30),
        )
        for i in range(count)
    )
    Notification.objects.bulk_create(
        Notification(
            ticket=t,
            event="response_breached",
            recipient="queue@rxhealth.example",
            next_attempt_at=due,
        )
        for t in tickets
    )
    EscalationRecord.objects.bulk_create(
        EscalationRecord(ticket=t, level=t.escalation_level, from_level=1, reached_at=due)
        for t in tickets
    )


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory())
    return client


def _queries(client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_dashboard_and_queue_cost_the_same_queries_with_50_or_5000_breached_tickets(
    staff_client,
):
    sites = [ClientSiteFactory() for _ in range(12)]
    reporters = [UserFactory() for _ in range(12)]
    agents = [StaffFactory() for _ in range(8)]
    urls = [reverse(name) for name in PAGES]
    urls += [reverse("admin:tickets_ticket_changelist") + "?queue=breached"]
    with time_machine.travel(NOW, tick=False):
        _breach(50, "a", sites, reporters, agents)
        few = {url: _queries(staff_client, url) for url in urls}
        _breach(4950, "b", sites, reporters, agents)
        many = {url: _queries(staff_client, url) for url in urls}
        page = staff_client.get(reverse("backoffice:dashboard")).content.decode()
    assert many == few
    # The dashboard shows the breach, counted in the database, not truncated to a page.
    assert "5,000" in page or "5000" in page
