"""The outbox's promises: retried with backoff, delivered once, failures kept in sight."""

import datetime

import pytest
import time_machine
from django.core import mail

from tests.tickets.backends import FlakyBackend
from tests.tickets.factories import StaffFactory, TicketFactory
from tickets import services
from tickets.models import Notification
from tickets.outbox import (
    notification_deliver,
    notifications_deliver_due,
    notifications_enqueue,
    retry_delay,
    sender_register,
)

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 11, 23, 14, 0, tzinfo=datetime.UTC)
S = datetime.timedelta(seconds=1)


def enqueue(ticket, channel="email"):
    with time_machine.travel(T0, tick=False):
        notifications_enqueue(
            ticket=ticket,
            event="ticket_filed",
            recipients=["pm@hospital.example"],
            subject="[RX-1] received",
            body_text="We received your request.",
            channel=channel,
        )
    return Notification.objects.get(ticket=ticket, channel=channel)


def sweep(when):
    with time_machine.travel(when, tick=False):
        return notifications_deliver_due()


def test_backoff_doubles_from_the_base_and_is_capped(settings):
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 60
    settings.NOTIFICATION_RETRY_MAX_DELAY_SECONDS = 600
    assert [retry_delay(n).total_seconds() for n in range(1, 6)] == [60, 120, 240, 480, 600]


def test_a_backend_failing_twice_then_working_delivers_once_with_the_attempts_recorded(settings):
    settings.EMAIL_BACKEND = "tests.tickets.backends.FlakyBackend"
    FlakyBackend.calls = 0
    row = enqueue(TicketFactory())

    assert sweep(T0) == 0
    row.refresh_from_db()
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, T0 + 60 * S)
    assert "SMTP server not answering" in row.last_error

    assert sweep(T0 + 59 * S) == 0  # not before its backoff
    assert sweep(T0 + 60 * S) == 0
    row.refresh_from_db()
    assert (row.attempts, row.next_attempt_at) == (2, T0 + 180 * S)

    assert sweep(T0 + 180 * S) == 1
    assert sweep(T0 + 1000 * S) == 0
    row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at) == ("sent", 3, T0 + 180 * S)
    assert len(mail.outbox) == 1


def test_an_always_failing_backend_marks_the_row_failed_after_the_last_retry(settings):
    settings.EMAIL_BACKEND = "tests.tickets.backends.BrokenBackend"
    settings.NOTIFICATION_MAX_ATTEMPTS = 4
    row = enqueue(TicketFactory())
    when = T0
    for expected_attempts in range(1, 5):
        sweep(when)
        row.refresh_from_db()
        assert row.attempts == expected_attempts
        if row.next_attempt_at:
            when = row.next_attempt_at
    assert row.status == Notification.Status.FAILED
    assert row.failed_at == when
    assert row.next_attempt_at is None
    assert "ConnectionRefusedError" in row.last_error
    assert sweep(when + datetime.timedelta(days=1)) == 0
    row.refresh_from_db()
    assert row.attempts == 4  # never tried again, never deleted
    assert Notification.objects.filter(status="failed").count() == 1
    assert mail.outbox == []


def test_a_row_sent_again_by_staff_gets_the_whole_retry_budget_again(settings):
    settings.EMAIL_BACKEND = "tests.tickets.backends.BrokenBackend"
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 60
    row = enqueue(TicketFactory())
    sweep(T0)
    sweep(T0 + 60 * S)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 2)
    with time_machine.travel(T0 + 3600 * S, tick=False):
        assert services.notifications_resend(notification_ids=[row.pk], actor=StaffFactory()) == 1
    sweep(T0 + 3600 * S)
    row.refresh_from_db()
    # Numbered on (attempt 3), retried after the first backoff, as a new row would be.
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 3, T0 + 3660 * S)
    sweep(T0 + 3660 * S)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.failed_at) == ("failed", 4, T0 + 3660 * S)


@pytest.fixture
def senders():
    """Restore the registered senders after a test replaces one."""
    from tickets import delivery as outbox

    saved = dict(outbox._SENDERS)
    yield
    outbox._SENDERS.clear()
    outbox._SENDERS.update(saved)


def test_every_channel_gets_the_same_retries(senders):
    calls = []

    def flaky_webhook(notification):
        calls.append(notification.pk)
        if len(calls) < 2:
            raise OSError("connection reset")

    sender_register("webhook", flaky_webhook)
    row = enqueue(TicketFactory(), channel="webhook")
    sweep(T0)
    sweep(T0 + 60 * S)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)


def test_a_channel_without_a_sender_is_recorded_as_a_failure_not_dropped(settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 1
    row = enqueue(TicketFactory(), channel="sms")
    sweep(T0)
    row.refresh_from_db()
    assert row.status == "failed"
    assert "No sender" in row.last_error


def test_a_row_left_pending_by_a_lost_message_is_swept_and_sent_once():
    row = enqueue(TicketFactory())  # nothing delivered it: on_commit never ran
    assert sweep(T0 + 60 * S) == 1
    assert notification_deliver(row.pk) is False
    assert sweep(T0 + 120 * S) == 0
    assert len(mail.outbox) == 1
