"""Who hears what, and what the emails may say."""

import datetime

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

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
    assert isinstance(message, EmailMultiAlternatives)
    assert message.alternatives[0][1] == "text/html"


def test_staff_emails_link_to_the_back_office_and_client_emails_to_the_portal(site, pm, agent):
    ticket = file_ticket(actor=pm, site=site, impact="high", at=MONDAY)
    scan_at(MONDAY + 45 * datetime.timedelta(minutes=1))
    scan_at(MONDAY + H)
    back_office = f"https://support.rxhealth.example/admin/tickets/ticket/{ticket.pk}/change/"
    portal = f"https://support.rxhealth.example/tickets/{ticket.reference}/"
    for event in ("staff_alert", "response_at_risk", "response_breached", "update_due_soon"):
        for row in rows(ticket, event):
            row = row.grouped_with or row  # the message it went out in (grouped per recipient)
            assert back_office in row.body_text and back_office in row.body_html, event
            assert portal not in row.body_text, event
    for event in ("ticket_filed", "client_update"):
        for row in rows(ticket, event):
            assert portal in row.body_text and back_office not in row.body_text, event


def test_each_client_reply_tells_the_assignee_once_without_its_text(site, pm, agent):
    ticket = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
    at(MONDAY, services.ticket_assign, ticket=fresh(ticket), actor=agent, assignee=agent)
    at(MONDAY + H, services.comment_post, ticket=fresh(ticket), author=pm, body=SECRET)
    at(MONDAY + 2 * H, services.comment_post, ticket=fresh(ticket), author=pm, body="More")
    replies = list(rows(ticket, "client_replied").order_by("sequence"))
    assert [r.recipient for r in replies] == ["agent@rxhealth.example"] * 2
    assert len({r.sequence for r in replies}) == 2  # one message per reply
    first = replies[0]
    assert SECRET not in first.body_text and SECRET not in first.body_html
    assert "replied" in first.subject.lower() and ticket.reference in first.subject
    assert "Mon 23 Nov 2026, 10:00 EST" in first.body_text  # when, in the site's zone
    assert f"/admin/tickets/ticket/{ticket.pk}/change/" in first.body_text


def test_a_client_reply_on_an_unassigned_ticket_reaches_the_staff_queue(site, pm, agent):
    ticket = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
    at(MONDAY + H, services.comment_post, ticket=fresh(ticket), author=pm, body="Any news?")
    assert recipients(ticket, "client_replied") == ["queue@rxhealth.example"]
    # Staff replies and internal notes tell no one at Rx.Health.
    at(MONDAY + 2 * H, services.comment_post, ticket=fresh(ticket), author=agent, body="On it")
    at(
        MONDAY + 2 * H,
        services.comment_post,
        ticket=fresh(ticket),
        author=agent,
        body="note",
        public=False,
    )
    assert recipients(ticket, "client_replied") == ["queue@rxhealth.example"]


def test_updated_by_the_client_is_marked_until_our_next_public_reply(site, pm, agent):
    ticket = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
    assert fresh(ticket).client_replied_at is None
    at(MONDAY + H, services.comment_post, ticket=fresh(ticket), author=pm, body="Any news?")
    at(MONDAY + 2 * H, services.comment_post, ticket=fresh(ticket), author=pm, body="Hello?")
    assert fresh(ticket).client_replied_at == MONDAY + H  # since the first unanswered reply
    at(
        MONDAY + 3 * H,
        services.comment_post,
        ticket=fresh(ticket),
        author=agent,
        body="note",
        public=False,
    )
    assert fresh(ticket).client_replied_at == MONDAY + H  # a note is not an answer
    at(MONDAY + 4 * H, services.comment_post, ticket=fresh(ticket), author=agent, body="Done")
    assert fresh(ticket).client_replied_at is None
