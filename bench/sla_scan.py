"""Benchmark: the SLA scan costs in proportion to due tickets, not to open ones.

Seeds a throw-away PostgreSQL database (Django's test database, created and dropped here)
with N open tickets of mixed kinds, of which 100 are due (breaches, at-risk warnings and
automated client updates), and times one scan pass at N = 10,000 and N = 100,000: the median
of 9 runs each (after one warm-up run), with the due tickets reset between runs. Counts the
scan's SQL queries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal python bench/sla_scan.py

The last line is `scan_ratio_100k_over_10k=X.XX queries_10k=A queries_100k=B`; the bar is a
ratio of at most 1.3 and the same number of queries at both sizes.
"""

import os
import random
import statistics
import sys
import time
from datetime import timedelta
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

from sla.models import ScanRun  # noqa: E402
from sla.scan import sla_scan_run  # noqa: E402
from tickets.models import (  # noqa: E402
    ClientSite,
    Notification,
    SiteMembership,
    Ticket,
    TicketEvent,
)

RUNS = 9
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


def measure(label: str) -> tuple[float, int]:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    times, queries = [], set()
    for run in range(RUNS + 1):
        now = timezone.now()
        reset_due(now)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            counts = sla_scan_run(now=now)
            elapsed = time.perf_counter() - started
        handled = counts["breaches"] + counts["at_risk_warnings"] + counts["client_updates"]
        assert counts["tickets_checked"] == DUE and handled == DUE, counts
        if run:  # the first run warms caches and is not counted
            times.append(elapsed)
            queries.add(len(captured))
    median = statistics.median(times)
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        reset_due(timezone.now())
        profile = cProfile.Profile()
        profile.runcall(sla_scan_run, now=timezone.now())
        pstats.Stats(profile).sort_stats("cumtime").print_stats(25)
    if os.environ.get("BENCH_VERBOSE"):
        for query in captured.captured_queries:
            print(f"  {float(query['time']) * 1000:8.1f} ms  {query['sql'][:150]}")
    open_count = Ticket.objects.filter(status__in=["new", "in_progress", "waiting_on_client"])
    print(
        f"{label}: {open_count.count()} open tickets, {DUE} due: median {median * 1000:.1f} ms "
        f"over {RUNS} runs (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}), "
        f"queries per scan {sorted(queries)}"
    )
    assert len(queries) == 1, "the scan's query count varied between runs"
    return median, queries.pop()


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench/sla_scan.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    settings.DEBUG = False
    # Its own throw-away database, apart from the test suite's.
    connection.settings_dict["TEST"]["NAME"] = f"bench_{connection.settings_dict['NAME']}"
    old = setup_databases(verbosity=0, interactive=False, serialized_aliases=[])
    try:
        site = ClientSite.objects.create(name="Bench Hospital", slug="bench")
        from django.contrib.auth import get_user_model

        reporter = get_user_model().objects.create(username="bench-pm", email="pm@bench.example")
        SiteMembership.objects.create(user=reporter, site=site, role="pm")
        now = timezone.now()
        seed_due(site=site, reporter=reporter)
        seed_open(count=10_000 - DUE, start=0, site=site, reporter=reporter, now=now)
        time_10k, queries_10k = measure("N=10,000")
        if os.environ.get("BENCH_PROFILE"):
            return
        seed_open(count=90_000, start=10_000, site=site, reporter=reporter, now=now)
        time_100k, queries_100k = measure("N=100,000")
    finally:
        teardown_databases(old, verbosity=0)
    print(
        f"scan_ratio_100k_over_10k={time_100k / time_10k:.2f} "
        f"queries_10k={queries_10k} queries_100k={queries_100k}"
    )


if __name__ == "__main__":
    main()
