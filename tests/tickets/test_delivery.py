"""Delivery against a real SMTP server on 127.0.0.1: a worker killed mid-batch, a relay that
refuses, a relay that is down, one connection per batch, and grouped messages."""

import datetime
import os
import signal
import subprocess
import sys

import pytest
import time_machine
from django.utils import timezone

from tests.processes import ROOT, database_url
from tests.smtp_server import free_port, smtp_server, smtp_settings
from tests.tickets.factories import TicketFactory
from tests.waiting import wait_for
from tickets.models import Notification
from tickets.outbox import notifications_deliver, notifications_deliver_due

T0 = datetime.datetime(2026, 11, 23, 14, 0, tzinfo=datetime.UTC)


def pending_rows(ticket, count: int, *, event: str = "public_reply", at=None) -> None:
    """Rows as a service writes them, without the post-commit kick (nothing delivers them)."""
    Notification.objects.bulk_create(
        Notification(
            ticket=ticket,
            event=event,
            sequence=i,
            recipient=f"r{i}@hospital.example",
            subject=f"[{ticket.reference}] Reply {i}",
            body_text="Rx.Health support replied.",
            next_attempt_at=at or timezone.now(),
        )
        for i in range(count)
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_leaves_rows_that_are_sent_once_their_lease_expires(settings):
    pending_rows(TicketFactory(), 12)
    with smtp_server(delay=0.3) as (server, port):
        env = dict(
            os.environ,
            DATABASE_URL=database_url(),
            EMAIL_URL=f"smtp://127.0.0.1:{port}",
            NOTIFICATION_BATCH_SIZE="4",
            NOTIFICATION_LEASE_SECONDS="60",
            CELERY_BROKER_URL="memory://",
            CELERY_TASK_ALWAYS_EAGER="true",
        )
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c",
             "from tickets.outbox import notifications_deliver_due; notifications_deliver_due()"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            # The first batch of 4 went out and was recorded; the second is half sent.
            assert wait_for(lambda: len(server.messages) >= 6)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        recorded = set(
            Notification.objects.filter(status="sent").values_list("recipient", flat=True)
        )
        assert len(recorded) == 4
        assert Notification.objects.filter(status="sending").count() == 4
        before_kill = len(server.messages)

        smtp_settings(settings, port)
        with time_machine.travel(timezone.now() + datetime.timedelta(seconds=30)):
            assert notifications_deliver_due() == 4  # the lease has not expired: only the rest
        with time_machine.travel(timezone.now() + datetime.timedelta(seconds=61)):
            assert notifications_deliver_due() == 4  # the killed batch, once its lease expired
            assert notifications_deliver_due() == 0
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    received = server.recipients()
    assert set(received) == {f"r{i}@hospital.example" for i in range(12)}
    for recipient in recorded:  # what was recorded as sent was never sent again
        assert received.count(recipient) == 1
    assert len(received) == before_kill + 8


@pytest.mark.django_db
def test_a_relay_refusing_twice_then_accepting_delivers_each_message_once(settings):
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 60
    pending_rows(TicketFactory(), 3, at=T0)
    with smtp_server(refuse=2) as (server, port):
        smtp_settings(settings, port)
        when = T0
        for _ in range(3):
            with time_machine.travel(when, tick=False):
                notifications_deliver()
            when += datetime.timedelta(minutes=5)
    assert sorted(server.recipients()) == [f"r{i}@hospital.example" for i in range(3)]
    rows = Notification.objects.order_by("sequence")
    assert [row.status for row in rows] == ["sent"] * 3
    # The first two messages of the first pass were refused and went out on a later pass.
    assert [row.attempts for row in rows] == [2, 2, 1]
    assert rows[0].sent_at == T0 + datetime.timedelta(minutes=5)
    assert "451" in rows[0].last_error


@pytest.mark.django_db
def test_a_relay_that_is_down_leaves_the_rows_failed_in_the_ledger(settings, admin_client):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    pending_rows(TicketFactory(), 2, at=T0)
    smtp_settings(settings, free_port())  # nothing listens there
    when = T0
    for _ in range(3):
        with time_machine.travel(when, tick=False):
            counts = notifications_deliver()
        when += datetime.timedelta(hours=2)
    assert (counts.sent, counts.failed, counts.retrying) == (0, 2, 0)
    rows = Notification.objects.all()
    assert {(row.status, row.attempts) for row in rows} == {("failed", 3)}
    assert all("ConnectionRefusedError" in row.last_error for row in rows)
    page = admin_client.get("/admin/tickets/notification/?status__exact=failed")
    assert page.status_code == 200
    assert "r0@hospital.example" in page.content.decode()


@pytest.mark.django_db
def test_one_connection_carries_a_whole_batch(settings):
    pending_rows(TicketFactory(), 5)
    with smtp_server() as (server, port):
        smtp_settings(settings, port)
        assert notifications_deliver_due() == 5
    assert len(server.messages) == 5
    assert server.connections == 1
