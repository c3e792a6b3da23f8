"""A broker outage never fails a request: what was committed stays, the request answers as
usual, and the scan's sweep sends the outbox rows once the broker is back."""

import logging

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse

from tests.brokers import broker_at, unreachable_broker_url
from tests.portal.helpers import member
from tests.tickets.factories import ClientSiteFactory, TicketFactory
from tickets.broker import task_enqueue
from tickets.models import Notification, Role, Ticket
from tickets.outbox import notifications_deliver_due, notifications_enqueue

pytestmark = pytest.mark.django_db

NEW = {"kind": "incident", "impact": "high", "title": "Pharmacy down", "description": "PHI here"}


@pytest.fixture
def broker_down():
    with broker_at(unreachable_broker_url()):
        yield


@pytest.fixture
def pm():
    site = ClientSiteFactory(slug="mercy")
    return member(site, Role.PM, username="pat", email="pat@mercy.example")


def receipts() -> list[str]:
    return [m.to[0] for m in mail.outbox if m.to == ["pat@mercy.example"]]


def test_task_enqueue_reports_an_unreachable_broker_with_a_warning(broker_down, caplog):
    with caplog.at_level(logging.WARNING, logger="tickets.broker"):
        assert task_enqueue(name="tickets.tasks.notifications_deliver_pending") is False
    assert "Broker unreachable" in caplog.text


def test_filing_in_the_portal_while_the_broker_is_down_opens_the_new_ticket(
    client, pm, broker_down, django_capture_on_commit_callbacks, caplog
):
    client.force_login(pm)
    with django_capture_on_commit_callbacks(execute=True), caplog.at_level(logging.WARNING):
        response = client.post(
            reverse("ticket-new"), {"site": pm.site_memberships.get().site_id, **NEW}
        )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("ticket-detail", args=[ticket.reference])
    assert mail.outbox == []
    assert "Broker unreachable" in caplog.text
    assert ticket.notifications.filter(status=Notification.Status.PENDING).exists()


def test_receipts_go_out_once_by_the_sweep_when_the_broker_is_back(
    client, pm, django_capture_on_commit_callbacks
):
    client.force_login(pm)
    with broker_at(unreachable_broker_url()), django_capture_on_commit_callbacks(execute=True):
        site_id = pm.site_memberships.get().site_id
        for title in ("Pharmacy down", "Printers down"):
            response = client.post(reverse("ticket-new"), {"site": site_id, **NEW, "title": title})
            assert response.status_code == 302
    assert receipts() == []

    notifications_deliver_due()  # the sweep every scan runs
    notifications_deliver_due()
    assert receipts() == ["pat@mercy.example"] * 2
    assert Ticket.objects.count() == 2


def enqueue_in_a_savepoint_that_rolls_back(ticket, event) -> None:
    try:
        with transaction.atomic():
            notifications_enqueue(ticket=ticket, event=event, recipients=["b@h.example"])
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass


def test_one_delivery_kick_per_transaction_however_many_rows_it_writes(
    django_capture_on_commit_callbacks,
):
    ticket = TicketFactory()
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for event in (Notification.Event.STAFF_ALERT, Notification.Event.TICKET_FILED):
            notifications_enqueue(ticket=ticket, event=event, recipients=["a@h.example"])
        enqueue_in_a_savepoint_that_rolls_back(ticket, Notification.Event.PUBLIC_REPLY)
    assert len(callbacks) == 1
    assert Notification.objects.count() == 2


def test_a_kick_registered_in_a_rolled_back_savepoint_is_registered_again(
    django_capture_on_commit_callbacks,
):
    ticket = TicketFactory()
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        enqueue_in_a_savepoint_that_rolls_back(ticket, Notification.Event.STAFF_ALERT)
        notifications_enqueue(
            ticket=ticket, event=Notification.Event.TICKET_FILED, recipients=["a@h.example"]
        )
    assert len(callbacks) == 1
    assert Notification.objects.count() == 1
