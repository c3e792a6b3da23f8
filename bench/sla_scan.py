"""Benchmark: the SLA scan costs in proportion to due tickets, not to open ones.

Seeds two throw-away PostgreSQL databases (created and dropped here) with N open tickets of
mixed kinds, of which 100 are due (breaches, at-risk warnings and automated client updates),
and times one scan pass at N = 10,000 and N = 100,000: the median of 21 runs each (after one
warm-up round), alternating between the two sizes, with the due tickets reset between runs.
Counts the scan's SQL queries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal python bench/sla_scan.py

Then it puts every policy on a business calendar with holidays (every day, all day, so the
same tickets are due) and runs the scan again at both sizes.

The last line is `scan_ratio_100k_over_10k=X.XX queries_10k=A queries_100k=B
calendar_queries_10k=C calendar_queries_100k=D`; the bar is a ratio of at most 1.3 and the
same number of queries at both sizes, with or without the calendar.
"""

import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from datetime import time as dt_time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# Delivery is not what is measured: the scan's post-commit kick goes to an in-memory broker.
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_databases,
    teardown_databases,
)
from django.utils import timezone  # noqa: E402

from sla.models import BusinessCalendar, Holiday, ScanRun, SLAPolicy, WorkingPeriod  # noqa: E402
from sla.scan import sla_scan_run  # noqa: E402
from tickets.models import (  # noqa: E402
    ClientSite,
    Notification,
    SiteMembership,
    Ticket,
    TicketEvent,
)

RUNS = 21
DUE = 100
CHUNK = 5000
MIXES = [("general", ""), ("task", ""), ("change", ""), ("incident", "high"),
         ("incident", "medium"), ("incident", "low")]  # fmt: skip


def seed_open(*, count: int, start: int, site, reporter, now) -> None:
    """Open tickets that are not due: clocks running days ahead, or paused."""
    rng = random.Random(start)
    for offset in range(0, count, CHUNK):
        rows = []
        for i in range(start + offset, start + min(offset + CHUNK, count)):
            kind, impact = MIXES[i % len(MIXES)]
            paused = i % 10 == 0
            ahead = timedelta(minutes=rng.randint(60, 60 * 24 * 30))
            rows.append(
                Ticket(
                    reference=f"B-{i}",
                    site=site,
                    reporter=reporter,
                    kind=kind,
                    impact=impact,
                    status="waiting_on_client" if paused else ("new", "in_progress")[i % 2],
                    title=f"Bench ticket {i}",
                    description="Seeded by bench/sla_scan.py",
                    sla_state="paused" if paused else "on_track",
                    response_due_at=now + ahead,
                    response_warn_at=now + ahead * 0.75,
                    next_update_due_at=now + ahead if kind == "incident" else None,
                    paused_at=now if paused else None,
                    sla_next_check_at=None if paused else now + ahead * 0.75,
                )
            )
        Ticket.objects.bulk_create(rows, batch_size=1000)


def seed_due(*, site, reporter) -> None:
    rows = [
        Ticket(
            reference=f"DUE-{i}",
            site=site,
            reporter=reporter,
            kind=MIXES[i % len(MIXES)][0],
            impact=MIXES[i % len(MIXES)][1],
            title=f"Due ticket {i}",
            description="Seeded by bench/sla_scan.py",
        )
        for i in range(DUE)
    ]
    Ticket.objects.bulk_create(rows)


def reset_due(now) -> None:
    """Put the 100 due tickets back to due, and forget what earlier runs wrote."""
    due = Ticket.objects.filter(reference__startswith="DUE-")
    Notification.objects.all().delete()
    TicketEvent.objects.all().delete()
    ScanRun.objects.all().delete()
    common = {
        "status": "in_progress",
        "sla_next_check_at": now - timedelta(minutes=1),
        "response_breached_at": None,
        "response_warned_at": None,
        "client_update_count": 0,
        "update_warn_at": None,
    }
    # A third breach their first response, a third are at risk, a third owe a client update.
    due.filter(pk__in=[t.pk for t in due.order_by("pk")[0:34]]).update(
        **common,
        responded_at=None,
        response_due_at=now - timedelta(minutes=1),
        response_warn_at=now - timedelta(minutes=20),
        next_update_due_at=None,
    )
    due.filter(pk__in=[t.pk for t in due.order_by("pk")[34:67]]).update(
        **common,
        responded_at=None,
        response_due_at=now + timedelta(minutes=20),
        response_warn_at=now - timedelta(minutes=1),
        next_update_due_at=None,
    )
    due.filter(pk__in=[t.pk for t in due.order_by("pk")[67:]]).update(
        **common,
        kind="incident",
        impact="high",
        responded_at=now - timedelta(hours=2),
        response_due_at=now - timedelta(hours=1),
        response_warn_at=now - timedelta(hours=1),
        next_update_due_at=now - timedelta(minutes=1),
    )


def business_calendar_for_every_policy() -> None:
    """Every day 00:00-23:59 in New York, with two holidays, on every policy."""
    calendar = BusinessCalendar.objects.create(name="Bench hours", timezone="America/New_York")
    WorkingPeriod.objects.bulk_create(
        WorkingPeriod(calendar=calendar, weekday=day, start=dt_time(0), end=dt_time(23, 59))
        for day in range(7)
    )
    for day in (date(2030, 1, 1), date(2030, 12, 25)):
        Holiday.objects.create(calendar=calendar, date=day, name="Bench holiday")
    SLAPolicy.objects.update(calendar=calendar)


def use(database: str) -> None:
    """Point the default connection at another database (outside any timing)."""
    connection.close()
    connection.settings_dict["NAME"] = database
    connection.ensure_connection()


def scan_once() -> tuple[float, int]:
    """Reset the due tickets, then time one scan pass and count its queries."""
    now = timezone.now()
    reset_due(now)
    # Each run rewrites the same 100 rows; vacuum their dead versions so that run k does not
    # pay for runs 1..k-1 (which would grow with the order of runs, not with N).
    with connection.cursor() as cursor:
        for table in ("tickets_ticket", "tickets_notification", "tickets_ticketevent"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        counts = sla_scan_run(now=now)
        elapsed = time.perf_counter() - started
    handled = counts["breaches"] + counts["at_risk_warnings"] + counts["client_updates"]
    assert counts["tickets_checked"] == DUE and handled == DUE, counts
    return elapsed, len(captured)


def summary(label: str, database: str, times: list[float], queries: set[int]) -> None:
    use(database)
    open_count = Ticket.objects.filter(
        status__in=["new", "in_progress", "waiting_on_client"]
    ).count()
    print(
        f"{label}: {open_count} open tickets, {DUE} due: median "
        f"{statistics.median(times) * 1000:.1f} ms over {len(times)} runs "
        f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}), "
        f"queries per scan {sorted(queries)}"
    )
    assert len(queries) == 1, "the scan's query count varied between runs"


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench/sla_scan.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    settings.DEBUG = False
    # Two throw-away databases, apart from the test suite's: one holds 10,000 open tickets,
    # the other 100,000. Runs alternate between them, so a change in the machine's load
    # during the benchmark weighs on both sizes alike.
    small = f"bench_{connection.settings_dict['NAME']}"
    big = f"{small}_100k"
    connection.settings_dict["TEST"]["NAME"] = small
    old = setup_databases(verbosity=0, interactive=False, serialized_aliases=[])
    try:
        site = ClientSite.objects.create(name="Bench Hospital", slug="bench")
        from django.contrib.auth import get_user_model

        reporter = get_user_model().objects.create(username="bench-pm", email="pm@bench.example")
        SiteMembership.objects.create(user=reporter, site=site, role="pm")
        now = timezone.now()
        seed_due(site=site, reporter=reporter)
        seed_open(count=10_000 - DUE, start=0, site=site, reporter=reporter, now=now)
        use("postgres")
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{big}"')
            cursor.execute(f'CREATE DATABASE "{big}" TEMPLATE "{small}"')
        use(big)
        seed_open(count=90_000, start=10_000, site=site, reporter=reporter, now=now)

        results: dict[str, tuple[list[float], set[int]]] = {small: ([], set()), big: ([], set())}
        for run in range(RUNS + 1):
            for database in (small, big) if run % 2 else (big, small):
                use(database)
                elapsed, queries = scan_once()
                if run:  # the first round warms caches and is not counted
                    results[database][0].append(elapsed)
                    results[database][1].add(queries)
        summary("N=10,000", small, *results[small])
        summary("N=100,000", big, *results[big])
        calendar_queries: dict[str, set[int]] = {}
        for database in (small, big):
            use(database)
            business_calendar_for_every_policy()
            calendar_queries[database] = {scan_once()[1] for _ in range(3)}
            assert len(calendar_queries[database]) == 1, "calendar scan query count varied"
        if os.environ.get("BENCH_VERBOSE"):
            use(big)
            reset_due(timezone.now())
            with CaptureQueriesContext(connection) as captured:
                sla_scan_run(now=timezone.now())
            for query in captured.captured_queries:
                print(f"  {float(query['time']) * 1000:8.1f} ms  {query['sql'][:150]}")
    finally:
        use("postgres")
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{big}"')
        connection.close()
        connection.settings_dict["NAME"] = small
        teardown_databases(old, verbosity=0)
    time_10k = statistics.median(results[small][0])
    time_100k = statistics.median(results[big][0])
    print(
        f"scan_ratio_100k_over_10k={time_100k / time_10k:.2f} "
        f"queries_10k={results[small][1].pop()} queries_100k={results[big][1].pop()} "
        f"calendar_queries_10k={calendar_queries[small].pop()} "
        f"calendar_queries_100k={calendar_queries[big].pop()}"
    )


if __name__ == "__main__":
    main()
