"""A major incident's broadcast update to N linked tickets: SQL queries and time.

    DATABASE_URL=postgres://... python bench/major_incident.py

It works in a throwaway database (test_<name>) that it creates, migrates and drops. The
tickets are high incidents with no response yet, spread over 40 sites with two contacts
each, so the update meets every first response, restarts every cadence, stops every
escalation and writes one email per person. The bar: 500 tickets in under 2 s on PostgreSQL,
with the same queries per batch whatever the number of tickets.
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

import time_machine  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench._throwaway import throwaway_database  # noqa: E402
from tickets import major_incidents  # noqa: E402
from tickets.major_incidents import BROADCAST_BATCH_SIZE  # noqa: E402
from tickets.models import (  # noqa: E402
    ClientSite,
    Comment,
    MajorIncident,
    Notification,
    Role,
    SiteMembership,
    SLAState,
    Ticket,
)

NOW = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
SITES = 40
BAR_SECONDS = 2.0
User = get_user_model()


class _Rollback(Exception):
    pass


def measure(count: int) -> tuple[int, float, int, int]:
    """(queries, seconds, emails, replies) of one broadcast to `count` linked tickets."""
    try:
        with transaction.atomic(), time_machine.travel(NOW, tick=False):
            agent = User.objects.create(username="bench-agent", is_staff=True)
            sites = ClientSite.objects.bulk_create(
                ClientSite(name=f"Bench Hospital {n}", slug=f"bench-{n}") for n in range(SITES)
            )
            people = User.objects.bulk_create(
                User(username=f"bench-{n}-{role}", email=f"{role}@bench-{n}.example")
                for n in range(SITES)
                for role in ("pm", "it")
            )
            SiteMembership.objects.bulk_create(
                SiteMembership(site=sites[i // 2], user=user, role=(Role.PM, Role.IT)[i % 2])
                for i, user in enumerate(people)
            )
            incident = MajorIncident.objects.create(
                title="EHR gateway outage", all_sites=True, created_by=agent, lead=agent
            )
            filed = NOW - timedelta(minutes=70)
            Ticket.objects.bulk_create(
                Ticket(
                    reference=f"BENCH-{i}",
                    site=sites[i % SITES],
                    reporter=people[(i % SITES) * 2],
                    kind="incident",
                    impact="high",
                    title="Platform down",
                    description="-",
                    created_at=filed,
                    response_due_at=filed + timedelta(hours=1),
                    response_breached_at=filed + timedelta(hours=1),
                    sla_state=SLAState.BREACHED,
                    escalation_level=2,
                    escalation_next_at=NOW + timedelta(minutes=50),
                    next_update_due_at=filed + timedelta(hours=1),
                    major_incident=incident,
                )
                for i in range(count)
            )
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                major_incidents.major_incident_update_post(
                    major_incident=incident, author=agent, body="Failing over now."
                )
                seconds = time.perf_counter() - started
            emails = Notification.objects.filter(event="major_incident_update").count()
            replies = Comment.objects.filter(ticket__major_incident=incident).count()
            assert not Ticket.objects.filter(
                major_incident=incident, escalation_next_at__isnull=False
            ).exists()
            raise _Rollback
    except _Rollback:
        pass
    return len(queries), seconds, emails, replies


def main() -> int:
    print(f"Broadcast update, batches of {BROADCAST_BATCH_SIZE} ({connection.vendor})")
    print(f"{'tickets':>8} {'queries':>8} {'seconds':>8} {'replies':>8} {'emails':>8}")
    measure(10)  # warm up: templates and imports load once per process, as in a server
    results = {}
    for count in (BROADCAST_BATCH_SIZE // 2, BROADCAST_BATCH_SIZE, 500, 2000):
        queries, seconds, emails, replies = measure(count)
        results[count] = (queries, seconds)
        print(f"{count:>8} {queries:>8} {seconds:>8.3f} {replies:>8} {emails:>8}")
    ok = results[500][1] < BAR_SECONDS
    print(f"500 tickets in {results[500][1]:.3f} s (bar {BAR_SECONDS} s): {'ok' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    with throwaway_database():
        code = main()
    sys.exit(code)
