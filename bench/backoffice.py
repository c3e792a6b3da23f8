"""The staff back office's cost as tickets grow: SQL queries and time for the admin ticket list,
the staff dashboard and one site's monthly SLA report, with 10, 1,000 and 50,000 tickets.

    DATABASE_URL=postgres://... python bench/backoffice.py [COUNT ...]

It works in a throwaway database (test_<name>) that it creates, migrates and drops.
The query counts must be the same on every line; the time of the report grows with the rows
the database aggregates, never with rows loaded into Python.
"""

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench._throwaway import throwaway_database  # noqa: E402
from tickets.models import ClientSite, Comment, Notification, Ticket  # noqa: E402

FILED = datetime(2026, 10, 15, 12, 0, tzinfo=UTC)
KINDS = [("general", ""), ("task", ""), ("change", ""), ("incident", "high"),
         ("incident", "medium"), ("incident", "low")]  # fmt: skip
BATCH = 5000


class _Rollback(Exception):
    pass


def _fill(site, reporter, agent, count: int) -> None:
    for start in range(0, count, BATCH):
        rows = []
        for i in range(start, min(start + BATCH, count)):
            kind, impact = KINDS[i % len(KINDS)]
            responded = FILED + timedelta(minutes=5 + i % 600) if i % 3 else None
            rows.append(
                Ticket(
                    reference=f"BENCH-{i}",
                    site=site,
                    reporter=reporter,
                    assignee=agent if i % 2 else None,
                    kind=kind,
                    impact=impact,
                    status=("new", "in_progress", "resolved")[i % 3],
                    title=f"Bench ticket {i}",
                    description="-",
                    sla_state=("on_track", "at_risk", "breached", "met")[i % 4],
                    response_due_at=FILED + timedelta(hours=8),
                    responded_at=responded,
                    response_breached_at=FILED + timedelta(hours=8) if i % 7 == 0 else None,
                    escalation_level=1 + i % 4,
                )
            )
        Ticket.objects.bulk_create(rows)
    # created_at is set on insert; put every ticket in the reported month.
    Ticket.objects.filter(site=site).update(created_at=FILED)
    incidents = list(
        Ticket.objects.filter(site=site, kind="incident").values_list("pk", flat=True)[:2000]
    )
    Comment.objects.bulk_create(
        Comment(ticket_id=pk, author=agent, body="Update", public=True, by_staff=True)
        for pk in incidents
    )
    Notification.objects.bulk_create(
        Notification(ticket_id=pk, event="client_update", sequence=1, recipient="pm@b.example")
        for pk in incidents
    )


def _get(client: Client, url: str) -> tuple[int, float]:
    client.get(url)  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code)
    return len(captured), elapsed * 1000


def measure(count: int) -> dict[str, tuple[int, float]]:
    results = {}
    try:
        with transaction.atomic():
            User = get_user_model()
            site = ClientSite.objects.create(name="Bench Hospital", slug="bench-hospital")
            reporter = User.objects.create(username="bench-reporter")
            agent = User.objects.create(username="bench-admin", is_staff=True, is_superuser=True)
            _fill(site, reporter, agent, count)
            client = Client()
            client.force_login(agent)
            results["admin ticket list"] = _get(client, "/admin/tickets/ticket/")
            results["staff dashboard"] = _get(client, "/staff/")
            results["monthly report"] = _get(
                client, f"/staff/reports/sla/?site={site.slug}&month=2026-10"
            )
            raise _Rollback
    except _Rollback:
        pass
    return results


def main() -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    counts = [int(a) for a in sys.argv[1:]] or [10, 1000, 50000]
    print(f"database: {connection.vendor}")
    print(f"{'tickets':>8}  {'page':<18} {'queries':>7} {'ms':>9}")
    for count in counts:
        for page, (queries, ms) in measure(count).items():
            print(f"{count:>8}  {page:<18} {queries:>7} {ms:>9.1f}")


if __name__ == "__main__":
    with throwaway_database():
        main()
