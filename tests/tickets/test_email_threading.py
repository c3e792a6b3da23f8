"""Every outgoing email names its ticket: a signed Reply-To and threading headers."""

import pytest
from django.core import mail

from tests.tickets.factories import ClientSiteFactory, MembershipFactory
from tickets import services
from tickets.email_threading import (
    references_in_message_ids,
    reply_address,
    reply_address_parse,
    reply_token,
)
from tickets.models import Notification, Role
from tickets.outbox import notifications_deliver_due, notifications_enqueue

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket():
    site = ClientSiteFactory()
    pm = MembershipFactory(site=site, role=Role.PM).user
    return services.ticket_create(
        actor=pm, site=site, kind="general", title="Printer", description="Ward 4"
    )


def test_every_email_about_a_ticket_carries_its_signed_reply_address_and_thread(ticket):
    notifications_deliver_due()
    assert len(mail.outbox) == 2  # the receipt and the staff alert
    ids = set()
    for email in mail.outbox:
        headers = email.message()
        assert headers["Reply-To"] == reply_address(ticket.reference)
        assert headers["Reply-To"].startswith(f"support+{ticket.reference}.")
        assert headers["Reply-To"].endswith("@rxhealth.example")
        assert (
            headers["In-Reply-To"]
            == headers["References"]
            == f"<{ticket.reference}@rxhealth.example>"
        )
        assert references_in_message_ids([headers["Message-ID"]]) == [ticket.reference]
        ids.add(headers["Message-ID"])
    assert len(ids) == 2  # one Message-ID per email


def test_a_reply_address_is_checked_against_its_token():
    good = reply_address("RX-1042")
    assert reply_address_parse(good) == ("RX-1042", True)
    assert reply_address_parse(f"Jane <{good.upper()}>") == ("RX-1042", True)  # case folded
    forged = good.replace(reply_token("RX-1042"), reply_token("RX-1043"))
    assert reply_address_parse(forged) == ("RX-1042", False)
    assert reply_address_parse("support+RX-1042@rxhealth.example") is None  # no token at all
    assert reply_address_parse("support@rxhealth.example") is None
    assert reply_address_parse(good.replace("rxhealth.example", "evil.example")) is None


def test_the_token_changes_with_the_secret_key(settings):
    before = reply_token("RX-1042")
    settings.SECRET_KEY = "another-secret-key-" + "y" * 40
    assert reply_token("RX-1042") != before


def test_an_answer_without_a_ticket_is_written_once_and_marked_auto_replied():
    for _ in range(2):
        notifications_enqueue(
            ticket=None,
            event=Notification.Event.MAIL_ANSWER,
            sequence=7,
            recipients=["someone@elsewhere.example"],
            subject="Your email to Rx.Health support was not added to a ticket",
            body_text="Sign in to the portal.",
        )
    assert Notification.objects.filter(ticket=None).count() == 1
    assert notifications_deliver_due() == 1
    (email,) = mail.outbox
    assert email.extra_headers["Auto-Submitted"] == "auto-replied"
    assert "Reply-To" not in email.extra_headers
