import pytest
from django.core import mail

from tests.tickets.factories import TicketFactory
from tickets.models import Notification
from tickets.outbox import notifications_deliver_due, notifications_enqueue

pytestmark = pytest.mark.django_db(transaction=True)


def test_enqueued_email_is_sent_once_after_commit_even_if_enqueued_twice():
    ticket = TicketFactory()
    for _ in range(2):
        notifications_enqueue(
            ticket=ticket,
            event="ticket_filed",
            recipients=["pm@hospital.example", "pm@hospital.example", "it@hospital.example"],
            subject=f"[{ticket.reference}] received",
            body_text="We received your request.",
        )
    assert Notification.objects.filter(ticket=ticket).count() == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["it@hospital.example", "pm@hospital.example"]
    assert notifications_deliver_due() == 0
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_filing_a_ticket_writes_its_emails_and_asks_for_one_delivery_pass(
    django_capture_on_commit_callbacks,
):
    from tests.tickets.factories import MembershipFactory
    from tickets import outbox, services
    from tickets.models import Role

    pm = MembershipFactory(role=Role.PM).user
    with django_capture_on_commit_callbacks() as callbacks:
        ticket = services.ticket_create(
            actor=pm,
            site=pm.site_memberships.get().site,
            kind="incident",
            impact="high",
            title="Pharmacy down",
            description="Since 9:10.",
        )
    events = set(Notification.objects.filter(ticket=ticket).values_list("event", flat=True))
    assert {Notification.Event.TICKET_FILED, Notification.Event.STAFF_ALERT} <= events
    assert [c for c in callbacks if c is outbox._delivery_kick] == [outbox._delivery_kick]
