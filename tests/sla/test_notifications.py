"""Who hears what, and what the emails may say."""

import datetime

import pytest
from django.core import mail

from sla.models import SLAPolicy
from tests.sla.conftest import MONDAY
from tests.sla.helpers import at, file_ticket, fresh, scan_at
from tests.tickets.factories import MembershipFactory
from tickets import services
from tickets.models import Notification, Role

pytestmark = pytest.mark.django_db

H = datetime.timedelta(hours=1)
SECRET = "Patient MRN 12345"


def rows(ticket, event):
    return Notification.objects.filter(ticket=ticket, event=event).order_by("recipient")


def recipients(ticket, event):
    return [n.recipient for n in rows(ticket, event)]


def test_filing_sends_the_reporter_a_receipt_with_the_commitment_in_words(site, pm):
    ticket = file_ticket(actor=pm, site=site, impact="high", at=MONDAY)
    (receipt,) = rows(ticket, "ticket_filed")
    assert receipt.recipient == "pm@stmarys.example"
    assert ticket.reference in receipt.subject
    assert "first response within 1 hour" in receipt.body_text
    assert "a status update every 1 hour" in receipt.body_text
    assert "first response within 1 hour" in receipt.body_html
    assert "Mon 23 Nov 2026, 10:00 EST" in receipt.body_text  # due time in the site's zone
    assert f"https://support.rxhealth.example/tickets/{ticket.reference}/" in receipt.body_html


def test_receipt_for_a_task_promises_an_estimate(site, pm):
    ticket = file_ticket(actor=pm, site=site, kind="task", at=MONDAY)
    text = rows(ticket, "ticket_filed").get().body_text
    assert "first response within 8 hours, with an estimated resolution time" in text


def test_filing_alerts_the_staff_queue(site, pm):
    ticket = file_ticket(actor=pm, site=site, impact="medium", at=MONDAY)
    (alert,) = rows(ticket, "staff_alert")
    assert alert.recipient == "queue@rxhealth.example"
    assert "Incident" in alert.subject and "Medium" in alert.subject


def test_public_reply_reaches_reporter_pm_and_it_once_each_but_not_viewers(
    site, pm, it, viewer, agent
):
    ticket = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
    at(MONDAY + H, services.comment_post, ticket=fresh(ticket), author=agent, body="Looking now")
    assert recipients(ticket, "public_reply") == ["it@stmarys.example", "pm@stmarys.example"]


def test_internal_notes_send_nothing_to_the_site(site, pm, agent):
    ticket = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
    at(
        MONDAY + H,
        services.comment_post,
        ticket=fresh(ticket),
        author=agent,
        body="x",
        public=False,
    )
    assert not rows(ticket, "public_reply").exists()


def test_one_mailbox_written_in_two_cases_hears_once(site, pm, it, agent):
    other_pm = MembershipFactory(site=site, role=Role.PM, user__email="PM@stmarys.example").user
    ticket = file_ticket(actor=other_pm, site=site, kind="general", at=MONDAY)
    at(
        MONDAY + H,
        services.ticket_status_change,
        ticket=fresh(ticket),
        actor=agent,
        status="waiting_on_client",
    )
    # pm@ and PM@ are the same mailbox: one email.
    assert len(recipients(ticket, "status_waiting")) == 2


def test_waiting_on_client_and_resolved_notify_the_site(site, pm, it, agent):
    ticket = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
    at(
        MONDAY + H,
        services.ticket_status_change,
        ticket=fresh(ticket),
        actor=agent,
        status="waiting_on_client",
    )
    at(MONDAY + 2 * H, services.comment_post, ticket=fresh(ticket), author=pm, body="Here")
    at(
        MONDAY + 3 * H,
        services.ticket_status_change,
        ticket=fresh(ticket),
        actor=agent,
        status="waiting_on_client",
    )
    at(
        MONDAY + 4 * H,
        services.ticket_status_change,
        ticket=fresh(ticket),
        actor=agent,
        status="resolved",
    )
    assert len(recipients(ticket, "status_waiting")) == 4  # twice, to pm and it
    assert recipients(ticket, "status_resolved") == ["it@stmarys.example", "pm@stmarys.example"]


def test_warnings_go_to_the_assignee_when_there_is_one(site, pm, agent):
    ticket = file_ticket(actor=pm, site=site, impact="high", at=MONDAY)
    at(MONDAY, services.ticket_assign, ticket=fresh(ticket), actor=agent, assignee=agent)
    scan_at(MONDAY + 45 * datetime.timedelta(minutes=1))
    scan_at(MONDAY + H)
    assert recipients(ticket, "response_at_risk") == ["agent@rxhealth.example"]
    assert recipients(ticket, "update_due_soon") == ["agent@rxhealth.example"]
    assert recipients(ticket, "response_breached") == ["agent@rxhealth.example"]


def test_automated_client_update_states_status_impact_last_and_next_update(site, pm, it):
    ticket = file_ticket(actor=pm, site=site, impact="high", at=MONDAY)
    scan_at(MONDAY + H)
    update = rows(ticket, "client_update").first()
    assert "Automated status update #1" in update.body_text
    assert "#1" in update.subject
    assert "First response due: Mon 23 Nov 2026, 10:00 EST (overdue)" in update.body_text
    assert "Impact:    High" in update.body_text
    assert "Status:    New" in update.body_text
    assert "not yet assigned" in update.body_text
    assert "Last update before this one: none yet" in update.body_text
    assert "Next update due:    Mon 23 Nov 2026, 11:00 EST" in update.body_text


def test_no_email_ever_carries_the_description_or_the_replies(site, pm, it, agent):
    ticket = file_ticket(actor=pm, site=site, kind="task", at=MONDAY)
    at(
        MONDAY + H,
        services.comment_post,
        ticket=fresh(ticket),
        author=agent,
        body=f"Re {SECRET}: restarting",
        estimated_resolution_at=MONDAY + 9 * H,
    )
    incident = file_ticket(actor=pm, site=site, impact="high", at=MONDAY)
    scan_at(MONDAY + 2 * H)
    bodies = Notification.objects.values_list("subject", "body_text", "body_html")
    assert len(bodies) > 8
    assert incident.description == "Patient MRN 12345 cannot be admitted."
    for subject, text, html in bodies:
        assert SECRET not in subject + text + html
        assert "restarting" not in text + html


def test_receipt_says_nothing_about_a_commitment_when_the_policy_was_removed(site, pm):
    SLAPolicy.objects.filter(kind="general").delete()
    ticket = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
    assert "commitment" not in rows(ticket, "ticket_filed").get().body_text
    assert fresh(ticket).response_due_at is None


@pytest.mark.django_db(transaction=True)
def test_emails_go_out_after_the_filing_commits(site, pm):
    file_ticket(actor=pm, site=site, kind="general")
    assert sorted(m.to[0] for m in mail.outbox) == ["pm@stmarys.example", "queue@rxhealth.example"]
    message = next(m for m in mail.outbox if m.to == ["pm@stmarys.example"])
    assert message.alternatives[0][1] == "text/html"
