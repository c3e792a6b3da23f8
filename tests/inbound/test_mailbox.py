"""Replies by email through a real IMAP server: mail is delivered into dovecot, then
`fetch_inbound_mail` reads it, as the periodic task does."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.management import CommandError, call_command

from inbound.models import InboundMessage
from tests.inbound.helpers import an_email, quoted
from tests.sla.conftest import MONDAY
from tests.sla.helpers import file_ticket, fresh
from tickets import services
from tickets.models import Attachment, Comment, Notification, Status, TicketEvent
from tickets.outbox import notifications_deliver_due

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64


@pytest.fixture
def waiting(site, pm, agent):
    """An incident the agent answered and put to waiting on the client: its clocks are paused.
    Returns the ticket and the "waiting on your reply" email the PM received."""
    ticket = file_ticket(actor=pm, site=site, impact="medium", at=MONDAY)
    with time_machine.travel(MONDAY + 10 * MINUTE, tick=False):
        services.comment_post(ticket=ticket, author=agent, body="Which ward is it?")
        services.ticket_status_change(ticket=ticket, actor=agent, status=Status.WAITING_ON_CLIENT)
        notifications_deliver_due()
    (email,) = [
        m for m in mail.outbox if m.to == [pm.email] and "Waiting on your reply" in m.subject
    ]
    assert fresh(ticket).paused_at is not None
    return ticket, email


def reply_to(email, *, sender, body, extra_headers=None, **kwargs):
    """The reply a mail client writes when its user presses Reply on our email."""
    headers = email.message()
    return an_email(
        sender=sender,
        to=headers["Reply-To"],
        subject=f"Re: {headers['Subject']}",
        body=body,
        headers={
            "In-Reply-To": headers["Message-ID"],
            "References": headers["Message-ID"],
            **(extra_headers or {}),
        },
        **kwargs,
    )


def fetch(when=MONDAY + 2 * datetime.timedelta(hours=1)) -> str:
    out = StringIO()
    with time_machine.travel(when, tick=False):
        call_command("fetch_inbound_mail", stdout=out)
    return out.getvalue()


def test_a_pms_reply_by_email_lands_on_the_ticket_and_resumes_its_paused_clock(
    mailbox, waiting, pm
):
    ticket, email = waiting
    paused_update_due = fresh(ticket).next_update_due_at
    assert paused_update_due is not None
    mailbox.deliver(reply_to(email, sender=pm.email, body=quoted("Ward 4, bed 12 printer.")))

    output = fetch()

    assert "received=1 matched=1 (commented=1" in output
    ticket = fresh(ticket)
    assert ticket.status == Status.IN_PROGRESS
    assert ticket.paused_at is None
    comment = Comment.objects.filter(ticket=ticket, author=pm).get()
    assert comment.body == "Ward 4, bed 12 printer."  # quote and signature removed
    assert comment.public and not comment.by_staff
    assert ticket.events.filter(action=TicketEvent.Action.COMMENTED, actor=pm).exists()
    # Paused from 14:10 to 16:00: the 8-hourly client update moves by those 110 minutes.
    assert ticket.paused_seconds == 110 * 60
    assert ticket.next_update_due_at == paused_update_due + 110 * MINUTE
    row = InboundMessage.objects.get()
    assert (row.outcome, row.matched_by, row.ticket, row.comment) == (
        "commented",
        "token",
        ticket,
        comment,
    )
    assert row.original.read().startswith(b"From: ")  # the original, for staff
    assert mailbox.unseen_count() == 0  # flagged as handled


def test_a_viewers_reply_is_refused_answered_politely_and_kept_for_staff(
    mailbox, waiting, viewer, pm
):
    ticket, email = waiting
    secret = "Patient MRN 99812 in bed 12"
    mailbox.deliver(reply_to(email, sender=viewer.email, body=secret))
    mail.outbox.clear()

    output = fetch()

    assert "refused=1" in output
    assert not Comment.objects.filter(ticket=ticket, author=viewer).exists()
    assert fresh(ticket).status == Status.WAITING_ON_CLIENT
    (answer,) = mail.outbox
    assert isinstance(answer, EmailMultiAlternatives)
    assert answer.to == [viewer.email]
    assert "project managers and IT staff" in answer.body
    assert "call" in answer.body
    for part in (answer.subject, str(answer.body), str(answer.alternatives[0][0])):
        assert "MRN" not in part
    assert answer.extra_headers["Auto-Submitted"] == "auto-replied"
    row = InboundMessage.objects.get()
    assert (row.outcome, row.ticket, row.answered_at is not None) == ("refused", ticket, True)
    assert row.text == secret  # kept for staff in the back office


def test_an_auto_reply_is_ignored_and_never_answered(mailbox, waiting, pm):
    ticket, email = waiting
    mailbox.deliver(
        reply_to(
            email,
            sender=pm.email,
            body="I am out of the office until Monday.",
            extra_headers={"Auto-Submitted": "auto-replied"},
        )
    )
    mail.outbox.clear()

    output = fetch()

    assert "ignored=1" in output
    assert not Comment.objects.filter(ticket=ticket, author=pm).exists()
    assert fresh(ticket).status == Status.WAITING_ON_CLIENT
    assert mail.outbox == []
    row = InboundMessage.objects.get()
    assert (row.outcome, row.reason, row.ticket) == (
        "ignored",
        "Auto-Submitted: auto-replied",
        ticket,
    )


def test_the_same_message_fetched_twice_makes_one_comment(mailbox, waiting, pm):
    ticket, email = waiting
    raw = reply_to(email, sender=pm.email, body="Ward 4.")
    mailbox.deliver(raw)
    mailbox.deliver(raw)  # the mail server delivered it twice

    first = fetch()
    mailbox.mark_all_unseen()  # as after a crash between processing and flagging
    second = fetch()

    assert "received=1" in first and "already_seen=1" in first
    assert "received=0" in second and "already_seen=2" in second
    assert Comment.objects.filter(ticket=ticket, author=pm).count() == 1
    assert InboundMessage.objects.count() == 1


def test_a_reply_with_a_forged_token_is_refused(mailbox, waiting, pm):
    ticket, email = waiting
    real = email.message()["Reply-To"]
    local, domain = real.split("@")
    forged = local[:-4] + "0000" if not local.endswith("0000") else local[:-4] + "1111"
    mailbox.deliver(an_email(sender=pm.email, to=f"{forged}@{domain}", body="Ward 4."))

    output = fetch()

    assert "refused=1" in output
    assert not Comment.objects.filter(ticket=ticket, author=pm).exists()
    row = InboundMessage.objects.get()
    assert row.outcome == "refused"
    assert "not one the portal gave out" in row.reason


def test_a_reply_with_a_file_of_a_refused_type_keeps_the_text_and_refuses_the_file(
    mailbox, waiting, pm
):
    ticket, email = waiting
    mailbox.deliver(
        reply_to(
            email,
            sender=pm.email,
            body="Screenshot and the tool attached.",
            attachments=[
                ("screen.png", PNG, "image/png"),
                ("fix.exe", EXE, "application/x-msdownload"),
            ],
        )
    )
    mail.outbox.clear()

    fetch()

    comment = Comment.objects.get(ticket=ticket, author=pm)
    assert comment.body == "Screenshot and the tool attached."
    assert [a.original_name for a in Attachment.objects.filter(comment=comment)] == ["screen.png"]
    row = InboundMessage.objects.get()
    assert row.outcome == "commented"
    assert "fix.exe" in row.reason  # staff see which file was left out
    (answer,) = [m for m in mail.outbox if m.to == [pm.email] and "file left out" in m.subject]
    assert "1 attached file(s) were not accepted" in answer.body
    assert "fix.exe" not in answer.body
    assert Notification.objects.filter(event="mail_answer", ticket=None).count() == 1


def test_the_command_says_when_no_mailbox_is_set(settings):
    settings.INBOUND_IMAP_URL = ""
    with pytest.raises(CommandError, match="INBOUND_IMAP_URL is not set"):
        call_command("fetch_inbound_mail")


def test_a_message_that_cannot_be_processed_stays_unread_and_the_rest_go_through(
    mailbox, waiting, pm, monkeypatch
):
    from inbound import mailbox as inbound_mailbox
    from inbound import services as inbound_services

    ticket, email = waiting
    receive = inbound_services.inbound_message_receive

    def fail_on_poison(*, raw):
        if b"poison" in raw:
            raise RuntimeError("simulated fault")
        return receive(raw=raw)

    monkeypatch.setattr(inbound_mailbox, "inbound_message_receive", fail_on_poison)
    mailbox.deliver(reply_to(email, sender=pm.email, body="poison"))
    mailbox.deliver(reply_to(email, sender=pm.email, body="Ward 4."))

    output = fetch()

    assert "received=1" in output and "failed=1" in output
    assert Comment.objects.filter(ticket=ticket, author=pm).get().body == "Ward 4."
    assert mailbox.unseen_count() == 1  # tried again on the next pass
