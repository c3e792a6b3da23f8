"""A site contact presses Escalate: in the service, the API and the portal."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from escalation.models import EscalationRecord
from escalation.services import escalation_request
from tests.tickets.factories import ClientSiteFactory, MembershipFactory, StaffFactory
from tickets.errors import Conflict, DomainError, NotAllowed
from tickets.models import Kind, Notification, Role, Status, TicketEvent

from .conftest import T0, breach, overdue_ticket
from .factories import EscalationContactFactory

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
AFTER_DUE = T0 + HOUR + timedelta(minutes=5)


@pytest.fixture
def pm(site):
    return MembershipFactory(site=site, role=Role.PM).user


def test_pm_escalates_an_overdue_ticket_one_level_and_it_is_recorded_with_who_asked(site, pm):
    contact = EscalationContactFactory(at=2, site=site, email="team@stmarys.example")
    ticket = overdue_ticket(impact="high", site=site)
    with time_machine.travel(AFTER_DUE, tick=False):
        ticket = escalation_request(ticket=ticket, actor=pm)
    assert ticket.escalation_level == 2
    assert ticket.escalated_at == AFTER_DUE
    record = EscalationRecord.objects.get(ticket=ticket)
    assert (record.level, record.automatic, record.actor) == (2, False, pm)
    assert [n["email"] for n in record.notified] == [contact.email]
    event = TicketEvent.objects.get(ticket=ticket, action=TicketEvent.Action.ESCALATED)
    assert event.actor == pm
    assert event.changes == {"escalation_level": [1, 2]}
    email = Notification.objects.get(ticket=ticket, sequence=2)
    assert f"at the request of {pm.get_full_name()}" in email.body_text
    assert "5 min late" in email.body_text


def test_client_escalation_then_the_breach_does_not_notify_level_2_again(site, pm):
    EscalationContactFactory(at=2, site=site)
    ticket = overdue_ticket(impact="high", site=site)
    with time_machine.travel(AFTER_DUE, tick=False):
        escalation_request(ticket=ticket, actor=pm)
        ticket = breach(ticket, at=T0 + HOUR)
    assert ticket.escalation_level == 2
    assert ticket.escalation_next_at == T0 + 2 * HOUR
    assert Notification.objects.filter(ticket=ticket).count() == 1


def test_it_member_and_staff_may_escalate(site):
    it = MembershipFactory(site=site, role=Role.IT).user
    ticket = overdue_ticket(impact="high", site=site)
    with time_machine.travel(AFTER_DUE, tick=False):
        assert escalation_request(ticket=ticket, actor=it).escalation_level == 2
    with time_machine.travel(AFTER_DUE + HOUR, tick=False):
        assert escalation_request(ticket=ticket, actor=StaffFactory()).escalation_level == 3


def test_a_second_press_within_the_committed_window_is_refused_with_when_it_is_possible(site, pm):
    ticket = overdue_ticket(impact="high", site=site)
    with time_machine.travel(AFTER_DUE, tick=False):
        assert escalation_request(ticket=ticket, actor=pm).escalation_level == 2
    with (
        time_machine.travel(AFTER_DUE + timedelta(seconds=5), tick=False),
        pytest.raises(Conflict) as refused,
    ):
        escalation_request(ticket=ticket, actor=pm)
    assert refused.value.code == "too_soon"
    # One high-incident window (1 h) after the press at 05:05 EST.
    assert "again from 2026-03-02 06:05 EST" in refused.value.message
    ticket.refresh_from_db()
    assert ticket.escalation_level == 2
    assert not Notification.objects.filter(ticket=ticket, sequence=3).exists()
    with time_machine.travel(AFTER_DUE + HOUR, tick=False):
        assert escalation_request(ticket=ticket, actor=pm).escalation_level == 3


def test_escalating_before_the_committed_time_is_refused_with_the_due_time(site, pm):
    ticket = overdue_ticket(impact="high", site=site)
    with (
        time_machine.travel(T0 + 30 * timedelta(minutes=1), tick=False),
        pytest.raises(DomainError) as refused,
    ):
        escalation_request(ticket=ticket, actor=pm)
    assert refused.value.status_code == 400
    assert refused.value.code == "not_yet_due"
    assert "2026-03-02 05:00" in refused.value.message  # 10:00 UTC in New York
    ticket.refresh_from_db()
    assert ticket.escalation_level == 1


def test_escalating_at_the_maximum_is_a_conflict(site, pm):
    ticket = overdue_ticket(kind=Kind.GENERAL, impact="", site=site)
    with time_machine.travel(ticket.response_due_at + HOUR, tick=False):
        escalation_request(ticket=ticket, actor=pm)
        with pytest.raises(Conflict) as refused:
            escalation_request(ticket=ticket, actor=pm)
    assert refused.value.code == "at_maximum"
    ticket.refresh_from_db()
    assert ticket.escalation_level == 2


def test_escalating_a_ticket_that_was_responded_to_or_resolved_is_a_conflict(site, pm):
    responded = overdue_ticket(impact="high", site=site, responded_at=T0 + 2 * HOUR)
    resolved = overdue_ticket(impact="high", site=site, status=Status.RESOLVED)
    with time_machine.travel(T0 + 3 * HOUR, tick=False):
        for ticket, code in ((responded, "already_responded"), (resolved, "not_open")):
            with pytest.raises(Conflict) as refused:
                escalation_request(ticket=ticket, actor=pm)
            assert refused.value.code == code


def test_viewer_may_not_escalate(site):
    viewer = MembershipFactory(site=site, role=Role.VIEWER).user
    ticket = overdue_ticket(impact="high", site=site)
    with time_machine.travel(AFTER_DUE, tick=False), pytest.raises(NotAllowed):
        escalation_request(ticket=ticket, actor=viewer)


def test_client_escalation_at_the_maximum_stops_the_automatic_climb(site, pm):
    ticket = overdue_ticket(impact="medium", site=site)
    with time_machine.travel(ticket.response_due_at, tick=False):
        breach(ticket)
    with time_machine.travel(ticket.response_due_at + HOUR, tick=False):
        ticket = escalation_request(ticket=ticket, actor=pm)
    assert (ticket.escalation_level, ticket.escalation_next_at) == (3, None)


# API -------------------------------------------------------------------------------------


def api_post(user, ticket):
    client = APIClient()
    client.force_authenticate(user)
    return client.post(f"/api/v1/tickets/{ticket.reference}/escalate/")


def test_api_escalate_returns_the_new_level(site, pm):
    ticket = overdue_ticket(impact="high", site=site)
    with time_machine.travel(AFTER_DUE, tick=False):
        response = api_post(pm, ticket)
    assert response.status_code == 200
    assert response.json()["reference"] == ticket.reference
    assert response.json()["escalation_level"] == 2
    assert "level 2" in response.json()["message"]


def test_api_escalate_error_codes(site, pm):
    viewer = MembershipFactory(site=site, role=Role.VIEWER).user
    stranger = MembershipFactory(site=ClientSiteFactory(), role=Role.PM).user
    early = overdue_ticket(impact="high", site=site)
    general = overdue_ticket(kind=Kind.GENERAL, impact="", site=site, escalation_level=2)
    with time_machine.travel(T0 + 30 * timedelta(minutes=1), tick=False):
        assert api_post(pm, early).status_code == 400
        assert api_post(pm, early).json()["code"] == "not_yet_due"
    with time_machine.travel(T0 + 9 * HOUR, tick=False):
        assert api_post(viewer, early).status_code == 403
        assert api_post(stranger, early).status_code == 404
        conflict = api_post(pm, general)
        assert conflict.status_code == 409
        assert "highest level" in conflict.json()["detail"]
    anonymous = APIClient().post(f"/api/v1/tickets/{early.reference}/escalate/")
    assert anonymous.status_code in (401, 403)
    assert APIClient().get("/api/v1/tickets/RX-0/escalate/").status_code in (401, 403)


# Portal ----------------------------------------------------------------------------------


def test_portal_escalate_redirects_to_the_ticket_with_a_message(client, site, pm):
    ticket = overdue_ticket(impact="high", site=site)
    client.force_login(pm)
    url = reverse("ticket-escalate", args=[ticket.reference])
    with time_machine.travel(AFTER_DUE, tick=False):
        response = client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("ticket-detail", args=[ticket.reference])
    assert "now at escalation level 2" in response.content.decode()
    with time_machine.travel(AFTER_DUE, tick=False):
        response = client.post(url, follow=True)
    page = response.content.decode()
    assert "now at escalation level 3" not in page
    assert "You can escalate it again from" in page
    # The client's page lists the escalation with its time and level.
    assert "Level 2 on Mon 02 Mar 2026, 05:05 EST, at the request of" in page


def test_portal_escalate_asks_first_naming_the_level_and_the_groups_alerted(client, site, pm):
    ticket = overdue_ticket(impact="high", site=site)
    client.force_login(pm)
    url = reverse("ticket-escalate", args=[ticket.reference])
    with time_machine.travel(AFTER_DUE, tick=False):
        page = client.get(url).content.decode()
    assert "Escalate " + ticket.reference + " to level 2?" in page
    assert "project team" in page.lower()
    ticket.refresh_from_db()
    assert ticket.escalation_level == 1  # asking is not escalating


def test_portal_escalate_too_early_shows_why(client, site, pm):
    ticket = overdue_ticket(impact="high", site=site)
    client.force_login(pm)
    with time_machine.travel(T0, tick=False):
        response = client.post(reverse("ticket-escalate", args=[ticket.reference]), follow=True)
    assert "once the committed response time has passed" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.escalation_level == 1


def test_portal_escalate_hides_other_sites_tickets(client, site, pm):
    other = overdue_ticket(impact="high", site=ClientSiteFactory())
    client.force_login(pm)
    assert client.get(reverse("ticket-escalate", args=[other.reference])).status_code == 404
    assert client.post(reverse("ticket-escalate", args=[other.reference])).status_code == 404
