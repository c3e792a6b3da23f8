"""A real Celery worker on the configured broker (Redis in CI, the embedded on-disk broker
locally) picks up what the outbox enqueues on commit and delivers the email."""

import pytest
from django.core import mail
from django.db import transaction

from tests.tickets.factories import TicketFactory
from tests.waiting import wait_for
from tickets.models import Notification
from tickets.outbox import notifications_enqueue


@pytest.mark.django_db(transaction=True)
def test_email_enqueued_on_commit_is_delivered_by_a_real_worker(real_worker):
    ticket = TicketFactory()
    with transaction.atomic():
        notifications_enqueue(
            ticket=ticket,
            event=Notification.Event.STAFF_ALERT,
            recipients=["queue@rxhealth.example"],
            subject=f"[{ticket.reference}] New ticket",
            body_text="A new ticket was filed.",
        )
        # Nothing leaves before the transaction commits.
        assert mail.outbox == []

    row = Notification.objects.get(ticket=ticket)
    assert wait_for(lambda: Notification.objects.get(pk=row.pk).status == "sent"), (
        "the worker did not deliver the notification within 30 s"
    )
    assert [m.subject for m in mail.outbox] == [f"[{ticket.reference}] New ticket"]
    assert [m.to for m in mail.outbox] == [["queue@rxhealth.example"]]
