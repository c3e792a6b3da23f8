"""A relay that takes 20 s to answer holds up a worker, never the portal: delivery holds no
transaction while it talks to the mail server (on SQLite a write would wait on it)."""

import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse
from django.utils import timezone

from tests.brokers import broker_at
from tests.smtp_server import smtp_server, smtp_settings
from tests.tickets.factories import TicketFactory
from tests.waiting import wait_for
from tickets.models import Notification, Ticket
from tickets.tasks import notifications_deliver_pending


@pytest.fixture
def worker(tmp_path):
    """A real worker thread on an embedded broker of this test's own (tasks go through it)."""
    folder = tmp_path / "broker"
    folder.mkdir()
    options: dict[str, str | bool] = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    options.update(control_folder=str(folder), store_processed=False)
    with (
        broker_at("filesystem://", options, queue=f"test-relay-{uuid.uuid4().hex[:12]}") as app,
        start_worker(
            app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=60
        ) as running,
    ):
        yield running


@pytest.mark.django_db(transaction=True)
def test_filing_and_replying_finish_in_normal_time_while_a_worker_waits_on_a_slow_relay(
    client, settings, site, pm, worker
):
    ticket = TicketFactory(site=site, reporter=pm)
    with smtp_server(delay=20) as (server, port):
        smtp_settings(settings, port)
        Notification.objects.create(
            ticket=ticket,
            event="public_reply",
            recipient=pm.email,
            subject=f"[{ticket.reference}] Rx.Health support replied",
            body_text="Rx.Health support replied.",
            next_attempt_at=timezone.now(),
        )
        notifications_deliver_pending.delay()
        assert wait_for(lambda: Notification.objects.filter(status="sending").exists())

        client.force_login(pm)
        started = time.monotonic()
        filed = client.post(
            reverse("ticket-new"),
            {
                "site": site.pk,
                "kind": "incident",
                "impact": "high",
                "title": "Lab results not arriving",
                "description": "Since 9:10.",
            },
        )
        new = Ticket.objects.exclude(pk=ticket.pk).get()
        replied = client.post(reverse("ticket-reply", args=[new.reference]), {"body": "Any news?"})
        elapsed = time.monotonic() - started

        assert (filed.status_code, replied.status_code) == (302, 302)
        assert elapsed < 5, f"filing and replying took {elapsed:.1f} s"
        # The worker is still waiting on the relay; nothing has gone out yet.
        assert Notification.objects.filter(status="sending").exists()
        assert server.messages == []
    assert new.comments.filter(body="Any news?").exists()
