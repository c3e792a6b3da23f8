"""The escalation step's cost for N tickets escalating in one scan pass: SQL queries and time.

    DATABASE_URL=postgres://... python bench/escalation_step.py

It works in a throwaway database (test_<name>) that it creates, migrates and drops.
The query count is the same for 10 and for 100 tickets (one batch); above the batch size it
grows by one batch's fixed cost per batch. It is measured twice: with the high-incident policy
counting elapsed time (24x7), and with it on a business calendar with holidays (every day, all
day, so the same tickets escalate).
"""

import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench._throwaway import throwaway_database  # noqa: E402
from escalation.models import EscalationContact, EscalationLevel  # noqa: E402
from escalation.services import STEP_BATCH_SIZE, escalation_step  # noqa: E402
from sla.models import BusinessCalendar, Holiday, SLAPolicy, WorkingPeriod  # noqa: E402
from tickets.models import ClientSite, Ticket  # noqa: E402

NOW = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)


class _Rollback(Exception):
    pass


def business_calendar() -> BusinessCalendar:
    """Every day 00:00-23:59 in New York, with two holidays: escalation counts working time."""
    calendar = BusinessCalendar.objects.create(name="Bench hours", timezone="America/New_York")
    WorkingPeriod.objects.bulk_create(
        WorkingPeriod(calendar=calendar, weekday=day, start=dt_time(0), end=dt_time(23, 59))
        for day in range(7)
    )
    for day in (date(2030, 1, 1), date(2030, 12, 25)):
        Holiday.objects.create(calendar=calendar, date=day, name="Bench holiday")
    return calendar


def measure(count: int, *, calendar: bool = False) -> tuple[int, float, int]:
    try:
        with transaction.atomic():
            if calendar:
                SLAPolicy.objects.filter(kind="incident", impact="high").update(
                    calendar=business_calendar()
                )
            site = ClientSite.objects.create(name="Bench Hospital", slug="bench-hospital")
            user = get_user_model().objects.create(username="bench-reporter")
            levels = {level.number: level for level in EscalationLevel.objects.all()}
            EscalationContact.objects.bulk_create(
                [
                    EscalationContact(
                        name=f"Bench {n}",
                        role="Bench",
                        email=f"bench{n}@bench.example",
                        level=levels[n],
                        site=site if n == 2 else None,
                    )
                    for n in (2, 3)
                ]
            )
            Ticket.objects.bulk_create(
                [
                    Ticket(
                        reference=f"BENCH-{i}",
                        site=site,
                        reporter=user,
                        kind="incident",
                        impact="high",
                        title=f"Bench ticket {i}",
                        description="bench",
                        response_due_at=NOW - timedelta(hours=2),
                        response_breached_at=NOW - timedelta(hours=2),
                        escalation_level=2,
                        escalation_next_at=NOW - timedelta(minutes=1),
                    )
                    for i in range(count)
                ]
            )
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                reached = escalation_step(NOW)
                elapsed = time.perf_counter() - started
            assert reached == count, (reached, count)
            result = (len(queries), elapsed, reached)
            raise _Rollback
    except _Rollback:
        return result


def main() -> None:
    print(f"database: {connection.vendor}; step batch size: {STEP_BATCH_SIZE}")
    measure(1)  # warm up: template compilation, connection
    print(f"{'policy':>18} {'tickets':>8} {'queries':>8} {'seconds':>8} {'ms/ticket':>10}")
    for label, calendar in (("24x7", False), ("business calendar", True)):
        for count in (10, 100, 1000):
            queries, elapsed, reached = measure(count, calendar=calendar)
            print(
                f"{label:>18} {count:>8} {queries:>8} {elapsed:>8.3f} "
                f"{1000 * elapsed / reached:>10.2f}"
            )


if __name__ == "__main__":
    with throwaway_database():
        main()
