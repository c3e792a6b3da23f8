"""A scan pass holds back what it writes until it ends, so a person hears of the whole pass in
one message, even while other delivery passes run; a pass that dies holds nothing for long."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone

from tests.tickets.factories import TicketFactory
from tickets.models import Notification, NotificationHold
from tickets.notify import email_context
from tickets.outbox import notifications_deliver_due, notifications_enqueue_many, notifications_held

pytestmark = pytest.mark.django_db(transaction=True)

AGENT = "agent@rx.example"


def _breached(ticket) -> dict:
    return {
        "ticket_id": ticket.pk,
        "event": Notification.Event.RESPONSE_BREACHED,
        "sequence": 0,
        "context": email_context(ticket),
        "recipient": [AGENT],
    }


def test_a_delivery_pass_during_a_scan_pass_leaves_its_rows_for_the_pass_to_hand_over():
    first, second = TicketFactory(title="Lab feed down"), TicketFactory(title="PACS down")
    mail.outbox.clear()
    with notifications_held():
        with transaction.atomic():  # one batch of the pass, committed
            notifications_enqueue_many(rows=[_breached(first)])
        # Another worker's sweep while the pass goes on: the committed row waits.
        assert notifications_deliver_due() == 0
        assert Notification.objects.get(ticket=first).status == "pending"
        with transaction.atomic():
            notifications_enqueue_many(rows=[_breached(second)])
        assert mail.outbox == []
    (message,) = [m for m in mail.outbox if m.to == [AGENT]]
    assert message.subject.startswith("2 tickets need your attention")
    assert "Lab feed down" in message.body and "PACS down" in message.body
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    assert not NotificationHold.objects.exists()


def test_the_rows_of_a_pass_that_never_ends_go_out_once_its_hold_runs_out(settings):
    ticket = TicketFactory(title="Lab feed down")
    mail.outbox.clear()
    with notifications_held():
        with transaction.atomic():
            notifications_enqueue_many(rows=[_breached(ticket)])
        assert notifications_deliver_due() == 0
        # The pass is stuck (or its process died): after the lease its rows are not held.
        later = timezone.now() + timedelta(seconds=settings.NOTIFICATION_LEASE_SECONDS + 1)
        with time_machine.travel(later, tick=False):
            assert notifications_deliver_due() == 1
    (message,) = [m for m in mail.outbox if m.to == [AGENT]]
    assert "Lab feed down" in message.body
    assert Notification.objects.get(ticket=ticket).status == "sent"
