"""Time `GET /api/v1/tickets/` (a page of 50, as a site's integrator) over 1,000 and then
100,000 tickets on PostgreSQL; prints the medians and, last,
`api_list_ratio_100k_over_1k=X.XX queries=N`. The bar is a ratio of at most 2.

Run: DATABASE_URL=postgres://... python bench/api.py
It works in a throwaway database (test_<name>) that it creates and drops.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 30)
os.environ.setdefault("API_THROTTLE_TOKEN_RATE", "100000/min")
os.environ.setdefault("API_THROTTLE_USER_RATE", "100000/min")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

PAGE = 50
RUNS = 21
WARMUP = 5


def tickets_insert(*, site_id: int, reporter_id: int, start: int, count: int) -> None:
    """Bulk insert `count` tickets in one statement, spread over kinds, statuses and days."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tickets_ticket (
                reference, site_id, reporter_id, kind, impact, status, title, description,
                created_at, updated_at, sla_state, client_update_count, paused_seconds,
                response_paused_seconds, update_cycle, update_paused_seconds,
                escalation_level, response_due_at, jira_digest
            )
            SELECT
                'RX-B' || i, %(site)s, %(reporter)s,
                (ARRAY['general','task','change','incident'])[1 + i %% 4],
                CASE WHEN i %% 4 = 3 THEN (ARRAY['high','medium','low'])[1 + i %% 3] ELSE '' END,
                (ARRAY['new','in_progress','waiting_on_client','resolved','closed'])[1 + i %% 5],
                'Bench ticket ' || i, 'Description of bench ticket ' || i,
                now() - (i || ' minutes')::interval, now(),
                (ARRAY['on_track','at_risk','breached','met','paused'])[1 + i %% 5], 0, 0,
                0, 0, 0, 1,
                now() + (i %% 600 || ' minutes')::interval, ''
            FROM generate_series(%(start)s, %(stop)s) AS i
            """,
            {"site": site_id, "reporter": reporter_id, "start": start, "stop": start + count - 1},
        )
        cursor.execute("ANALYZE tickets_ticket")


def measure(client) -> tuple[float, int]:
    url = f"/api/v1/tickets/?page_size={PAGE}"
    for _ in range(WARMUP):
        assert client.get(url).status_code == 200
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:300]
        assert len(response.json()["results"]) == PAGE
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    return statistics.median(times) * 1000, len(ctx.captured_queries)


def main() -> int:
    if connection.vendor != "postgresql":
        print("bench/api.py needs PostgreSQL: set DATABASE_URL=postgres://...", file=sys.stderr)
        return 2
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from rest_framework.test import APIClient

        from portal.api.services import api_token_issue
        from tests.tickets.factories import ClientSiteFactory, MembershipFactory

        site = ClientSiteFactory.create(slug="bench-site")
        ClientSiteFactory.create(slug="bench-other")
        integrator = MembershipFactory.create(site=site, role="it").user
        _, token = api_token_issue(user=integrator, name="bench")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

        tickets_insert(site_id=site.pk, reporter_id=integrator.pk, start=1, count=1_000)
        small, queries_small = measure(client)
        print(f"api_list_median_1k_ms={small:.2f} queries={queries_small}")

        started = time.perf_counter()
        tickets_insert(site_id=site.pk, reporter_id=integrator.pk, start=1_001, count=99_000)
        print(f"inserted 99,000 more tickets in {time.perf_counter() - started:.1f}s")
        large, queries_large = measure(client)
        print(f"api_list_median_100k_ms={large:.2f} queries={queries_large}")
        if queries_small != queries_large:
            print(f"query count changed: {queries_small} -> {queries_large}")
        print(f"api_list_ratio_100k_over_1k={large / small:.2f} queries={queries_large}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
