"""No floods: a contact who must hear of many escalations in one pass gets one message listing
them; a single escalation keeps its own message; the ledger keeps one row per ticket."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from tickets.models import Notification
from tickets.outbox import notifications_deliver_due

from .conftest import T0, breach, overdue_ticket
from .factories import EscalationContactFactory

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def test_a_project_team_contact_hears_of_a_platform_outage_in_one_message(site, admin_client):
    team = EscalationContactFactory(at=2, site=site, email="team@stmarys.example")
    tickets = [
        overdue_ticket(impact="high", site=site, title=f"Interface {i} down") for i in range(12)
    ]
    with time_machine.travel(T0 + HOUR, tick=False):
        for ticket in tickets:
            breach(ticket)
        notifications_deliver_due()

    to_team = [m for m in mail.outbox if m.to == [team.email]]
    assert len(to_team) == 1
    message = to_team[0]
    assert isinstance(message, EmailMultiAlternatives)
    assert message.subject.startswith("12 tickets need your attention")
    for body in (str(message.body), str(message.alternatives[0][0])):
        for ticket in tickets:
            assert ticket.reference in body
            assert ticket.title in body
            assert f"/admin/tickets/ticket/{ticket.pk}/change/" in body
        assert body.count("Escalation level 2") == 12
    # Each ticket's own acknowledgement link, once.
    links = re.findall(r"/escalation/ack/([^/\s\"]+)/", str(message.body))
    assert len(set(links)) == 12
    # The ledger still has one row per ticket, event and recipient, all sent in that message.
    rows = Notification.objects.filter(recipient=team.email, event="escalated")
    assert rows.count() == 12
    assert {row.status for row in rows} == {"sent"}
    assert len({row.grouped_with_id for row in rows}) == 1
    # The ledger shows, for any of them, the message it went out in.
    first = rows.first()
    assert first is not None and first.grouped_with is not None
    lead = first.grouped_with
    assert lead.body_text == message.body
    other = rows.exclude(pk=lead.pk).first()
    assert other is not None
    page = admin_client.get(f"/admin/tickets/notification/{other.pk}/change/").content.decode()
    assert f"/admin/tickets/notification/{lead.pk}/change/" in page


def test_a_single_escalation_keeps_its_own_message(site):
    team = EscalationContactFactory(at=2, site=site, email="team@stmarys.example")
    ticket = overdue_ticket(impact="high", site=site)
    with time_machine.travel(T0 + HOUR, tick=False):
        breach(ticket)
        notifications_deliver_due()
    (message,) = [m for m in mail.outbox if m.to == [team.email]]
    assert message.subject.startswith(f"[{ticket.reference}] Escalation level 2")
    row = Notification.objects.get(recipient=team.email)
    assert row.grouped_with is None
    assert row.subject == message.subject and row.body_text == message.body


@pytest.mark.django_db(transaction=True)
def test_a_contact_hears_of_every_ticket_one_scan_pass_found_in_one_message(site, settings):
    # The pass works in batches of 50 and each batch commits (delivery runs inline after a
    # commit here): the contact still gets one message for the whole pass, not one per batch.
    from sla.scan import sla_scan_run

    settings.SLA_SCAN_BATCH_SIZE = 50
    team = EscalationContactFactory(at=2, site=site, email="team@stmarys.example")
    tickets = [
        overdue_ticket(impact="high", site=site, title=f"Interface {i} down") for i in range(120)
    ]
    for ticket in tickets:
        ticket.sla_next_check_at = ticket.response_due_at
        ticket.save(update_fields=["sla_next_check_at"])
    mail.outbox.clear()
    with time_machine.travel(T0 + HOUR, tick=False):
        counts = sla_scan_run()
    assert counts["breaches"] == 120

    (message,) = [m for m in mail.outbox if m.to == [team.email]]
    assert message.subject.startswith("120 tickets need your attention")
    for ticket in tickets:
        assert (
            message.body.count(f"{ticket.reference} ") + message.body.count(f"{ticket.reference}\n")
            >= 1
        )
    assert message.body.count("Escalation level 2") == 120
    assert len(set(re.findall(r"/escalation/ack/([^/\s\"]+)/", str(message.body)))) == 120
    rows = Notification.objects.filter(recipient=team.email, event="escalated")
    assert rows.count() == 120
    assert {row.status for row in rows} == {"sent"}
    assert len({row.grouped_with_id for row in rows}) == 1
    # The staff queue (nobody is assigned) heard of the 120 breaches in one message too.
    (queue,) = [m for m in mail.outbox if m.to == [settings.SUPPORT_QUEUE_EMAIL]]
    assert queue.subject.startswith("120 tickets need your attention")
