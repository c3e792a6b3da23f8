"""The signed, expiring, single-use acknowledgement link in each escalation email."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import signing

from escalation.models import EscalationAcknowledgement
from escalation.selectors import ACK_SALT
from tickets.models import Notification, Ticket
from tickets.outbox import notifications_deliver_due

from .conftest import T0, breach, overdue_ticket
from .factories import EscalationContactFactory

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
BREACH = T0 + HOUR


@pytest.fixture
def escalated(site):
    contact = EscalationContactFactory(at=2, site=site, email="team@stmarys.example")
    ticket = overdue_ticket(impact="high", site=site)
    with time_machine.travel(BREACH, tick=False):
        breach(ticket)
        notifications_deliver_due()
    row = Notification.objects.get(ticket=ticket, recipient=contact.email)
    path = re.search(r"https://support\.rxhealth\.example(/escalation/ack/[^/\s]+/)", row.body_text)
    assert path is not None
    return ticket, contact, path.group(1)


def test_get_shows_a_confirmation_and_does_not_acknowledge(client, escalated):
    ticket, _, path = escalated
    with time_machine.travel(BREACH + HOUR, tick=False):
        response = client.get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert ticket.reference in page
    assert 'method="post"' in page
    assert not EscalationAcknowledgement.objects.exists()


def test_post_acknowledges_once_and_never_counts_as_a_response(client, escalated):
    ticket, contact, path = escalated
    with time_machine.travel(BREACH + HOUR, tick=False):
        response = client.post(path, HTTP_USER_AGENT="Mail client")
    assert response.status_code == 200
    assert "recorded" in response.content.decode()
    ack = EscalationAcknowledgement.objects.get()
    assert (ack.record.ticket_id, ack.record.level) == (ticket.pk, 2)
    assert (ack.contact, ack.email, ack.acknowledged_at) == (contact, contact.email, BREACH + HOUR)
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.responded_at is None
    assert ticket.escalation_next_at == T0 + 2 * HOUR  # the climb goes on

    with time_machine.travel(BREACH + 2 * HOUR, tick=False):
        again = client.post(path)
        shown = client.get(path)
    assert again.status_code == 409
    assert "already acknowledged" in again.content.decode()
    assert EscalationAcknowledgement.objects.count() == 1
    assert "already acknowledged" in shown.content.decode()


def test_expired_link_is_refused(client, escalated, settings):
    _, _, path = escalated
    settings.ESCALATION_ACK_MAX_AGE_HOURS = 72
    with time_machine.travel(BREACH + timedelta(hours=73), tick=False):
        response = client.post(path)
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert not EscalationAcknowledgement.objects.exists()


def test_tampered_link_is_refused(client, escalated):
    ticket, _, path = escalated
    token = path.split("/")[-2]
    forged = signing.dumps({"t": ticket.pk, "l": 2, "e": "intruder@evil.example"}, salt="other")
    for bad in (token[:-2] + "xx", forged, "garbage"):
        response = client.post(f"/escalation/ack/{bad}/")
        assert response.status_code == 400
        assert "not valid" in response.content.decode()
    assert not EscalationAcknowledgement.objects.exists()


def test_link_for_an_escalation_that_never_happened_is_refused(client, escalated):
    ticket, _, _ = escalated
    token = signing.dumps({"t": ticket.pk, "l": 4, "e": "team@stmarys.example"}, salt=ACK_SALT)
    assert client.post(f"/escalation/ack/{token}/").status_code == 400


def test_the_page_links_to_the_tickets_back_office_page_under_a_neutral_footer(client, escalated):
    from django.urls import reverse

    ticket, _, path = escalated
    with time_machine.travel(BREACH + HOUR, tick=False):
        page = client.get(path).content.decode()
    assert f'href="{reverse("admin:tickets_ticket_change", args=[ticket.pk])}"' in page
    assert "file it here" not in page  # the client portal's footer is not for contacts
    assert "Support line" in page
