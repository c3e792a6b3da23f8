"""Delivery's lookups cost the same whatever the backlog: on PostgreSQL each walks a pending
index in claim order and stops at its bound, even right after a burst, before the table's
statistics know of it (autovacuum analyses it about a minute later)."""

import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.tickets.factories import TicketFactory
from tickets.claims import _walk_in_claim_order, claim
from tickets.models import Notification

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

NOW = datetime.datetime(2026, 11, 30, 9, 0, tzinfo=datetime.UTC)


def rows(ticket, event: str, count: int, **fields) -> list[Notification]:
    return [Notification(ticket=ticket, event=event, sequence=n, **fields) for n in range(count)]


def a_burst() -> None:
    """An outbox whose statistics were taken on a quiet day (everything sent), then an outage's
    burst written in bulk: single messages and grouped rows for the staff queue."""
    ticket = TicketFactory()
    due = NOW - datetime.timedelta(minutes=1)
    single = {"subject": "Received", "body_text": "Hello", "next_attempt_at": due}
    Notification.objects.bulk_create(
        rows(ticket, "status_resolved", 3000, recipient="pm@site.example", status="sent")
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_notification")  # what autovacuum knew before the burst
    Notification.objects.bulk_create(
        rows(ticket, "ticket_filed", 3000, recipient="pm@site.example", **single)
        + rows(ticket, "response_breached", 3000, recipient="queue@rxhealth.example",
               next_attempt_at=due, context={"reference": "RX-1"})
    )  # fmt: skip


def plan(sql: str) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        _walk_in_claim_order()
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def test_each_claim_lookup_walks_its_pending_index_without_collecting_the_backlog(settings):
    settings.NOTIFICATION_GROUP_MAX = 40
    a_burst()
    with CaptureQueriesContext(connection) as queries:
        claimed, contended = claim(now=NOW, token="t" * 32, limit=50, only=None)

    # A batch of single messages, and a grouped message's worth of the queue's rows.
    assert [r.event for r in claimed] == ["ticket_filed"] * 50 + ["response_breached"] * 40
    assert not contended
    lookups = [
        q["sql"] for q in queries
        if q["sql"].startswith("SELECT") and 'FROM "tickets_notification"' in q["sql"]
    ]  # fmt: skip
    assert len(lookups) == 3  # the single rows, the recipients, the queue's rows
    for sql, index in zip(
        lookups,
        ["notification_pending_single", "notification_pending_grouped",
         "notification_pending_recipient"],
        strict=True,
    ):  # fmt: skip
        shown = plan(sql)
        assert f"Index Scan using {index}" in shown, shown
        assert "Sort" not in shown and "Bitmap" not in shown, shown
