"""Moving in from JIRA at scale: generate a REST search export of N issues with 4 comments
each (pages of 100, as JIRA returns them), import it with `import_jira`, print the time and the
process's peak memory; then import it again (nothing changes) and print that time too.

    DATABASE_URL=postgres://... python bench/jira_import.py [ISSUES]   # default 50,000

It works in a throwaway database (test_<name>) and a temporary folder, both removed after.
Peak memory is the same for 10,000 and for 50,000 issues: pages are read one at a time and
written in batches of 500 issues.
"""

import json
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from bench._throwaway import throwaway_database  # noqa: E402
from tickets.models import ClientSite, Comment, Role, SiteMembership, Ticket  # noqa: E402

PAGE = 100
COMMENTS = 4
START = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)
TYPES = [("Incident", "High"), ("Incident", "Medium"), ("Service Request", "Low"), ("Task", "")]
STATUSES = ["Open", "In Progress", "Waiting for customer", "Done", "Done", "Closed"]
MAPPING = """
[users]
importer = "importer@rxhealth.example"
[site]
from = "component"
[site.values]
"Site 0" = "site-0"
"Site 1" = "site-1"
"Site 2" = "site-2"
"Site 3" = "site-3"
[kinds]
"Incident" = "incident"
"Service Request" = "general"
"Task" = "task"
[impacts]
"High" = "high"
"Medium" = "medium"
"Low" = "low"
[statuses]
"Open" = "new"
"In Progress" = "in_progress"
"Waiting for customer" = "waiting_on_client"
"Done" = "resolved"
"Closed" = "closed"
"""


def _user(n: int, domain: str) -> dict:
    return {
        "accountId": f"acc-{domain}-{n}",
        "displayName": f"Person {n}",
        "emailAddress": f"person{n}@{domain}",
    }


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def generate(folder: Path, issues: int) -> None:
    for page_start in range(0, issues, PAGE):
        page = []
        for n in range(page_start, min(page_start + PAGE, issues)):
            created = START + timedelta(minutes=17 * n)
            kind, priority = TYPES[n % len(TYPES)]
            status = STATUSES[n % len(STATUSES)]
            site = n % 4
            reporter = _user(site * 10 + n % 10, "hospital.example")
            agent = _user(n % 5, "rxhealth.example")
            comments = [
                {
                    "id": str(1_000_000 + n * COMMENTS + c),
                    "author": agent if c % 2 == 0 else reporter,
                    "body": f"Update {c} on issue {n}: checked the interface logs and queues.",
                    "created": _time(created + timedelta(minutes=45 * (c + 1))),
                    "jsdPublic": c != 1,
                }
                for c in range(COMMENTS)
            ]
            page.append(
                {
                    "id": str(10_000 + n),
                    "key": f"RXH-{n + 1}",
                    "fields": {
                        "summary": f"Issue {n}: results interface slow on ward {n % 40}",
                        "description": "Lab results take 40 minutes to reach the chart.\n" * 3,
                        "issuetype": {"name": kind},
                        "priority": {"name": priority or "Low"},
                        "status": {"name": status},
                        "project": {"key": "RXH"},
                        "components": [{"name": f"Site {site}"}],
                        "reporter": reporter,
                        "assignee": agent,
                        "created": _time(created),
                        "resolutiondate": _time(created + timedelta(days=2))
                        if status in ("Done", "Closed")
                        else None,
                        "comment": {"comments": comments, "total": COMMENTS},
                        "attachment": [],
                    },
                    "changelog": {
                        "histories": [
                            {
                                "id": str(5_000_000 + n),
                                "author": agent,
                                "created": _time(created + timedelta(minutes=30)),
                                "items": [
                                    {"field": "status", "fromString": "Open", "toString": status}
                                ],
                            }
                        ]
                    },
                }
            )
        (folder / f"page-{page_start // PAGE:05d}.json").write_text(
            json.dumps({"startAt": page_start, "maxResults": PAGE, "total": issues, "issues": page})
        )


def people() -> None:
    User = get_user_model()
    User.objects.create(username="importer", email="importer@rxhealth.example", is_staff=True)
    for n in range(5):
        User.objects.create(
            username=f"agent{n}", email=f"person{n}@rxhealth.example", is_staff=True
        )
    for site_number in range(4):
        site = ClientSite.objects.create(name=f"Site {site_number}", slug=f"site-{site_number}")
        for n in range(10):
            number = site_number * 10 + n
            user = User.objects.create(
                username=f"person{number}", email=f"person{number}@hospital.example"
            )
            SiteMembership.objects.create(user=user, site=site, role=Role.PM if n == 0 else Role.IT)


def main() -> None:
    issues = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    with tempfile.TemporaryDirectory() as tmp, throwaway_database():
        folder = Path(tmp) / "export"
        folder.mkdir()
        started = time.perf_counter()
        generate(folder, issues)
        print(
            f"export: {issues:,} issues, {issues * COMMENTS:,} comments in "
            f"{len(list(folder.iterdir()))} pages, generated in "
            f"{time.perf_counter() - started:.1f} s"
        )
        mapping = Path(tmp) / "mapping.toml"
        mapping.write_text(MAPPING)
        people()
        for run in ("first import", "second import (nothing changed)"):
            started = time.perf_counter()
            out = StringIO()
            call_command("import_jira", str(folder), "--mapping", str(mapping), stdout=out)
            elapsed = time.perf_counter() - started
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{run}: {elapsed:.1f} s; peak memory of the process {peak_mb:.0f} MB")
            print("   " + out.getvalue().strip().splitlines()[1])
        print(f"tickets: {Ticket.objects.count():,}; comments: {Comment.objects.count():,}")


if __name__ == "__main__":
    main()
