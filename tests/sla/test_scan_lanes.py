"""A scan pass in a process of its own (`run_sla_scan`, a worker) shares a mass breach with
lanes in forked processes: each ticket once, one message per person for the whole pass, and
a lane killed mid-batch loses nothing that the next pass does not do, once."""

import datetime
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from sla.models import ScanRun
from tests.processes import ROOT, database_url
from tests.sla.helpers import file_ticket
from tests.smtp_server import plain_text, smtp_server
from tests.waiting import held_elsewhere, wait_for
from tickets.models import Notification, TicketEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

H = datetime.timedelta(hours=1)
QUEUE = "queue@rxhealth.example"


def _overdue(*, site, pm, count: int) -> list:
    """High-impact incidents filed three hours ago (their hour to respond has passed),
    unassigned, so the breaches go to the staff queue."""
    return [
        file_ticket(actor=pm, site=site, impact="high", at=timezone.now() - 3 * H)
        for _ in range(count)
    ]


def _run_sla_scan(*, email_url: str = "dummymail://") -> subprocess.Popen:
    env = dict(
        os.environ,
        DATABASE_URL=database_url(),
        EMAIL_URL=email_url,
        SLA_SCAN_BATCH_SIZE="10",
        SLA_SCAN_LANES="3",
        CELERY_BROKER_URL="memory://",
    )
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_sla_scan"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _children(pid: int) -> list[int]:
    """The processes that `pid` started (Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so read after its parenthesis.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def _breach_events(ticket) -> int:
    return TicketEvent.objects.filter(
        ticket=ticket, action="sla", message__contains="missed"
    ).count()


def test_run_sla_scan_shares_a_mass_breach_with_lane_processes_and_sends_one_message(site, pm):
    tickets = _overdue(site=site, pm=pm, count=45)
    with smtp_server() as (server, port):
        scan = _run_sla_scan(email_url=f"smtp://127.0.0.1:{port}")
        out, err = scan.communicate(timeout=120)
        assert scan.returncode == 0, err
        assert "3 lanes in processes" in err
        assert "breaches: 45" in out
        for ticket in tickets:
            assert _breach_events(ticket) == 1
        breaches = Notification.objects.filter(event="response_breached")
        assert breaches.count() == 45
        assert set(breaches.values_list("status", flat=True)) == {"sent"}
        # The pass's hold covered the lanes in other processes: the queue heard of the 45
        # breaches in one message.
        (queue,) = [m for m in server.messages if m["To"] == QUEUE]
        assert queue["Subject"].startswith("45 tickets need your attention")
        # Each ticket's link into the back office, worked out once before the lanes forked.
        body = plain_text(queue)
        for ticket in tickets:
            assert f"/admin/tickets/ticket/{ticket.pk}/change/" in body
        run = ScanRun.objects.get()
        assert run.error == "" and run.counts["breaches"] == 45


def _lock_the_history() -> None:
    with connection.cursor() as cursor:
        cursor.execute("LOCK TABLE tickets_ticketevent IN EXCLUSIVE MODE")


@contextmanager
def _three_lanes_waiting_on_the_history() -> Iterator[subprocess.Popen]:
    """`run_sla_scan` in its own process, each of its three lanes holding a claimed batch and
    waiting to write its history rows (the table is locked elsewhere until the block ends)."""
    with held_elsewhere(_lock_the_history):
        scan = _run_sla_scan()
        try:
            assert wait_for(lambda: len(_children(scan.pid)) == 2 and _waiting_on_a_lock() == 3)
            yield scan
        except BaseException:
            scan.kill()
            raise


def _the_next_pass_leaves_every_breach_recorded_and_sent_once(tickets: list) -> None:
    again = _run_sla_scan()
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.response_breached_at is not None
        assert _breach_events(ticket) == 1
    assert Notification.objects.filter(event="response_breached").count() == 45
    assert not Notification.objects.exclude(status="sent").filter(channel="email").exists()


def test_a_lane_killed_mid_batch_fails_the_pass_and_the_next_pass_does_its_tickets_once(site, pm):
    tickets = _overdue(site=site, pm=pm, count=45)
    with _three_lanes_waiting_on_the_history() as scan:
        os.kill(_children(scan.pid)[0], signal.SIGKILL)
    _, err = scan.communicate(timeout=120)
    assert scan.returncode != 0
    assert "LaneFailed" in err and "ended without a report (exit code -9)" in err
    failed = ScanRun.objects.get()
    assert "LaneFailed" in failed.error
    # What the killed lane had claimed was rolled back, and is done once all the same.
    _the_next_pass_leaves_every_breach_recorded_and_sent_once(tickets)


def _terminate_a_lane_child_backend() -> None:
    """Cut the database connection of one lane in a process of its own: of the three lanes
    waiting on the lock, the parent's connection is the oldest (it recorded the pass before
    it forked)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "ORDER BY backend_start DESC LIMIT 1"
        )


def test_a_lane_whose_connection_is_cut_fails_the_pass_with_its_error_and_loses_nothing(site, pm):
    tickets = _overdue(site=site, pm=pm, count=45)
    with _three_lanes_waiting_on_the_history() as scan:
        _terminate_a_lane_child_backend()
    _, err = scan.communicate(timeout=120)
    assert scan.returncode != 0
    # The lane reported what went wrong; the pass failed with it, after the other lanes ended.
    assert "SLA scan lane at" in err and "failed" in err
    failed = ScanRun.objects.get()
    assert failed.error.startswith("LaneFailed: OperationalError")
    assert "terminating connection due to administrator command" in failed.error
    # The cut lane's batch was rolled back at once and the other lanes, still claiming, took
    # it over: every breach is recorded once already, and the next pass finds none to do.
    for ticket in tickets:
        assert _breach_events(ticket) == 1
    _the_next_pass_leaves_every_breach_recorded_and_sent_once(tickets)
    assert ScanRun.objects.latest("started_at").counts["breaches"] == 0
