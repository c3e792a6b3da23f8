"""A real Celery worker picks up what the outbox enqueues on commit and delivers the email, on
each broker the portal supports: Redis, RabbitMQ and the embedded on-disk broker. Redis and
RabbitMQ tests skip when nothing answers locally; CI sets PORTAL_TEST_BROKERS_REQUIRED=1 (and
starts both) so they fail instead."""

import os
import socket
import uuid
from urllib.parse import urlsplit

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import transaction

from tests.brokers import broker_at
from tests.tickets.factories import TicketFactory
from tests.waiting import wait_for
from tickets.models import Notification
from tickets.outbox import notifications_enqueue


def redis_url() -> str:
    configured = os.environ.get("CELERY_BROKER_URL", "")
    return configured if configured.startswith("redis://") else "redis://127.0.0.1:6379/15"


def rabbitmq_url() -> str:
    return os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 0), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(params=["redis", "rabbitmq", "embedded"])
def real_worker(request, tmp_path):
    """Tasks go through the broker to a worker thread instead of running inline, on a queue
    of this test's own, so nothing else sharing the broker takes its messages."""
    options: dict[str, str | bool] | None = None
    if request.param == "embedded":
        folder = tmp_path / "broker"
        folder.mkdir()
        url = "filesystem://"
        options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
        options["control_folder"] = str(folder)
        options["store_processed"] = False
    else:
        url = redis_url() if request.param == "redis" else rabbitmq_url()
        if not answers(url):
            if os.environ.get("PORTAL_TEST_BROKERS_REQUIRED"):
                pytest.fail(f"{request.param} does not answer on {urlsplit(url).port}")
            pytest.skip(f"{request.param} is not running here")
    queue = f"test-worker-{uuid.uuid4().hex[:12]}"
    with broker_at(url, options, queue=queue) as app:
        with start_worker(
            app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=60
        ) as worker:
            yield worker
        if request.param != "embedded":
            with app.connection_for_write() as connection:
                connection.default_channel.queue_delete(queue)


def staff_alert_enqueue(ticket) -> None:
    """Queue the staff queue's new-ticket alert for `ticket`, in the caller's transaction."""
    notifications_enqueue(
        ticket=ticket,
        event=Notification.Event.STAFF_ALERT,
        recipients=["queue@rxhealth.example"],
        subject=f"[{ticket.reference}] New ticket",
        body_text="A new ticket was filed.",
    )


@pytest.mark.django_db(transaction=True)
def test_email_enqueued_on_commit_is_delivered_by_a_real_worker(real_worker):
    ticket = TicketFactory()
    with transaction.atomic():
        staff_alert_enqueue(ticket)
        # Nothing leaves before the transaction commits.
        assert mail.outbox == []

    row = Notification.objects.get(ticket=ticket)
    assert wait_for(lambda: Notification.objects.get(pk=row.pk).status == "sent"), (
        "the worker did not deliver the notification within 30 s"
    )
    assert [m.subject for m in mail.outbox] == [f"[{ticket.reference}] New ticket"]
    assert [m.to for m in mail.outbox] == [["queue@rxhealth.example"]]


@pytest.mark.django_db(transaction=True)
def test_a_delivery_pass_that_meets_a_locked_database_tries_again_and_sends(
    real_worker, monkeypatch
):
    from django.db import OperationalError

    from tickets import claims

    real, passes = claims.leases_expire, []

    def locked_the_first_time(**kwargs):
        passes.append(1)
        if len(passes) == 1:  # another writer holds the database at this moment
            raise OperationalError("database table is locked: tickets_notification")
        return real(**kwargs)

    monkeypatch.setattr("tickets.delivery.leases_expire", locked_the_first_time)
    ticket = TicketFactory()
    with transaction.atomic():
        staff_alert_enqueue(ticket)
    row = Notification.objects.get(ticket=ticket)
    # The worker's pass fails on the lock and tries again half a second later, not at the
    # next sweep a minute later.
    assert wait_for(lambda: Notification.objects.get(pk=row.pk).status == "sent", timeout=15)
    assert len(passes) >= 2
    assert [m.subject for m in mail.outbox] == [f"[{ticket.reference}] New ticket"]
