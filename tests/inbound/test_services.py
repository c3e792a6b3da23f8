"""What becomes of one received email: matching, who may write, new requests, loops and floods.
These hand raw messages straight to the service; tests/inbound/test_mailbox.py goes through
a real IMAP server."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from inbound.models import InboundMessage
from inbound.services import inbound_message_receive
from tests.inbound.helpers import an_email, quoted
from tests.sla.conftest import MONDAY
from tests.sla.helpers import file_ticket, fresh
from tests.tickets.factories import ClientSiteFactory, MembershipFactory, UserFactory
from tickets.email_threading import reply_address, thread_id
from tickets.models import Comment, Kind, Notification, Role, Ticket
from tickets.outbox import notifications_deliver_due

pytestmark = pytest.mark.django_db

LATER = MONDAY + datetime.timedelta(minutes=30)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(LATER, tick=False):
        yield


@pytest.fixture
def ticket(site, pm):
    return file_ticket(actor=pm, site=site, impact="high", at=MONDAY)


def receive(raw: bytes) -> InboundMessage:
    row, new = inbound_message_receive(raw=raw)
    assert new
    return row


def answers_to(address: str) -> list:
    notifications_deliver_due()
    return [m for m in mail.outbox if m.to == [address] and "Rx.Health support" in m.body]


def test_a_reply_is_matched_by_our_message_id_when_the_reply_address_was_dropped(ticket, it):
    row = receive(
        an_email(
            sender=it.email,
            subject="Re: your ticket",
            body="Restarted the interface engine.",
            headers={"In-Reply-To": f"<{ticket.reference}.77@rxhealth.example>"},
        )
    )
    assert (row.outcome, row.matched_by, row.ticket) == ("commented", "headers", ticket)
    assert Comment.objects.get(ticket=ticket, author=it).body == "Restarted the interface engine."


def test_a_reference_in_the_subject_matches_only_the_senders_own_sites_tickets(ticket, pm):
    other_pm = MembershipFactory(site=ClientSiteFactory(), role=Role.PM).user

    mine = receive(an_email(sender=pm.email, subject=f"About {ticket.reference}", body="Any news?"))
    theirs = receive(
        an_email(sender=other_pm.email, subject=f"About {ticket.reference}", body="Any news?")
    )

    assert (mine.outcome, mine.matched_by, mine.ticket) == ("commented", "subject", ticket)
    assert theirs.ticket != ticket
    assert not Comment.objects.filter(ticket=ticket, author=other_pm).exists()


def test_a_member_of_another_site_replying_to_the_signed_address_is_refused(ticket):
    stranger = MembershipFactory(site=ClientSiteFactory(), role=Role.PM).user
    row = receive(an_email(sender=stranger.email, to=reply_address(ticket.reference), body="Hello"))
    assert row.outcome == "refused"
    assert not Comment.objects.filter(ticket=ticket, author=stranger).exists()
    (answer,) = answers_to(stranger.email)
    assert ticket.reference not in answer.subject + answer.body  # nothing about the ticket


def test_an_unknown_sender_is_answered_with_how_to_reach_support(ticket):
    row = receive(an_email(sender="someone@elsewhere.example", to=reply_address(ticket.reference)))
    assert row.outcome == "refused"
    assert "does not belong to a portal account" in row.reason
    (answer,) = answers_to("someone@elsewhere.example")
    assert "(646) 969-9939 option 2" in answer.body
    assert "https://support.rxhealth.example/" in answer.body


def test_answers_to_one_sender_stop_after_the_hourly_limit(settings, ticket):
    settings.INBOUND_ANSWERS_PER_SENDER_PER_HOUR = 2
    for _ in range(4):
        receive(an_email(sender="loop@elsewhere.example", to=reply_address(ticket.reference)))
    assert len(answers_to("loop@elsewhere.example")) == 2
    assert InboundMessage.objects.filter(answered_at__isnull=True).count() == 2
    with time_machine.travel(LATER + datetime.timedelta(minutes=61), tick=False):
        receive(an_email(sender="loop@elsewhere.example", to=reply_address(ticket.reference)))
        assert len(answers_to("loop@elsewhere.example")) == 3


@pytest.mark.parametrize(
    ("headers", "sender", "reason"),
    [
        ({"Auto-Submitted": "auto-generated"}, "pm@stmarys.example", "Auto-Submitted"),
        ({"Precedence": "bulk"}, "pm@stmarys.example", "Precedence: bulk"),
        ({"X-Autoreply": "yes"}, "pm@stmarys.example", "X-Autoreply"),
        ({"List-Id": "<ward.hospital.example>"}, "pm@stmarys.example", "List-Id"),
        ({"Return-Path": "<>"}, "pm@stmarys.example", "null sender"),
        ({}, "MAILER-DAEMON@hospital.example", "mail system"),
        ({}, "support+RX-1.abc@rxhealth.example", "support mailbox itself"),
    ],
)
def test_automatic_mail_is_never_a_comment_and_never_answered(ticket, pm, headers, sender, reason):
    row = receive(
        an_email(sender=sender, to=reply_address(ticket.reference), headers=headers, body="Away")
    )
    assert row.outcome == "ignored"
    assert reason in row.reason
    assert row.answered_at is None
    assert not Comment.objects.filter(ticket=ticket).exclude(author=pm).exists()
    assert not Comment.objects.filter(ticket=ticket, body="Away").exists()
    assert not Notification.objects.filter(event="mail_answer").exists()


def test_a_pm_writing_about_nothing_known_files_a_general_request_at_their_site(site, pm):
    secret = "Patient MRN 55120 label missing"
    row = receive(an_email(sender=pm.email, subject=secret, body=quoted("Wristband printer jams.")))

    assert row.outcome == "filed"
    ticket = row.ticket
    assert ticket is not None
    assert (ticket.site, ticket.kind, ticket.reporter) == (site, Kind.GENERAL, pm)
    assert ticket.title.startswith("Request by email from")
    assert ticket.description == f"Subject: {secret}\n\nWristband printer jams."
    notifications_deliver_due()
    (receipt,) = [m for m in mail.outbox if m.to == [pm.email]]
    assert isinstance(receipt, EmailMultiAlternatives)
    assert ticket.reference in receipt.subject and "by email" in receipt.subject
    html = str(receipt.alternatives[0][0])
    assert "MRN" not in f"{receipt.subject}{receipt.body}{html}"


def test_a_contact_of_several_sites_is_asked_to_use_the_portal(site, pm):
    MembershipFactory(user=pm, site=ClientSiteFactory(), role=Role.IT)
    row = receive(an_email(sender=pm.email, subject="New printer", body="Please install."))
    assert row.outcome == "refused"
    assert not Ticket.objects.exists()
    (answer,) = answers_to(pm.email)
    assert "several sites" in answer.body and "portal" in answer.body


def test_a_viewer_writing_a_new_request_is_refused(site, viewer):
    row = receive(an_email(sender=viewer.email, subject="New printer", body="Please install."))
    assert row.outcome == "refused"
    assert not Ticket.objects.exists()
    assert len(answers_to(viewer.email)) == 1


def test_html_only_mail_becomes_text(ticket, pm):
    html = (
        "<html><head><style>p {color: red}</style></head><body>"
        "<p>Interface <b>restarted</b> at 10:05.</p><div>Thanks</div></body></html>"
    )
    row = receive(
        an_email(sender=pm.email, to=reply_address(ticket.reference), body=None, html=html)
    )
    assert row.comment is not None
    assert row.comment.body == "Interface restarted at 10:05.\n\nThanks"


def test_a_staff_reply_by_email_is_a_public_staff_reply_that_meets_the_first_response(
    ticket, agent
):
    row = receive(an_email(sender=agent.email, to=reply_address(ticket.reference), body="On it."))
    comment = row.comment
    assert comment is not None
    assert comment.public and comment.by_staff and comment.author == agent
    assert fresh(ticket).responded_at == LATER


def test_a_staff_reply_refused_by_the_estimate_rule_is_answered_by_email(site, pm, agent):
    task = file_ticket(actor=pm, site=site, kind=Kind.TASK, at=MONDAY)
    row = receive(an_email(sender=agent.email, to=reply_address(task.reference), body="Soon."))
    assert row.outcome == "refused"
    assert "estimated resolution" in row.reason
    assert not Comment.objects.filter(ticket=task, author=agent).exists()
    (answer,) = answers_to(agent.email)
    assert "estimated resolution" in answer.body


def test_a_reply_to_a_closed_ticket_is_refused_and_answered(ticket, pm, agent):
    from tickets.services import ticket_status_change

    ticket_status_change(ticket=ticket, actor=agent, status="closed")
    row = receive(an_email(sender=pm.email, to=reply_address(ticket.reference), body="Again"))
    assert row.outcome == "refused"
    assert "closed" in row.reason
    assert len(answers_to(pm.email)) == 1


def test_the_thread_id_names_the_ticket():
    assert thread_id("RX-1042") == "<RX-1042@rxhealth.example>"


def test_an_email_without_message_id_is_still_processed_once(ticket, pm):
    raw = an_email(sender=pm.email, to=reply_address(ticket.reference), body="Once.")
    raw = b"\n".join(line for line in raw.split(b"\n") if not line.startswith(b"Message-ID"))
    receive(raw)
    assert inbound_message_receive(raw=raw)[1] is False
    assert Comment.objects.filter(ticket=ticket, body="Once.").count() == 1


def test_an_unknown_user_with_a_shared_email_is_treated_as_unknown(ticket, pm):
    UserFactory(email=pm.email.upper())  # two accounts with one address: we cannot tell who
    row = receive(an_email(sender=pm.email, to=reply_address(ticket.reference)))
    assert row.outcome == "refused"
