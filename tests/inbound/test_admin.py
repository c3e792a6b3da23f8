"""The inbound-mail ledger in the back office: read-only, filterable, and "attach to ticket"
for mail that reached no ticket."""

import pytest
from django.urls import reverse

from inbound.models import InboundMessage
from inbound.services import inbound_message_receive
from tests.inbound.helpers import an_email
from tests.sla.helpers import file_ticket
from tests.tickets.factories import ClientSiteFactory, MembershipFactory
from tickets.email_threading import reply_address
from tickets.models import Comment, Role

pytestmark = pytest.mark.django_db

LEDGER = "admin:inbound_inboundmessage_changelist"


@pytest.fixture
def ticket(site, pm):
    return file_ticket(actor=pm, site=site, impact="low")


def attach(client, rows, reference):
    return client.post(
        reverse(LEDGER),
        {
            "action": "attach_to_ticket",
            "_selected_action": [r.pk for r in rows],
            "ticket_reference": reference,
        },
        follow=True,
    )


def test_staff_see_the_ledger_filtered_by_outcome(client, agent, ticket, pm):
    inbound_message_receive(raw=an_email(sender=pm.email, to=reply_address(ticket.reference)))
    inbound_message_receive(raw=an_email(sender="x@elsewhere.example", subject="Hello"))
    client.force_login(agent)

    page = client.get(reverse(LEDGER)).content.decode()
    refused = client.get(reverse(LEDGER), {"outcome": "refused"}).content.decode()

    assert ticket.reference in page and "x@elsewhere.example" in page
    assert "x@elsewhere.example" in refused and pm.email not in refused
    row = InboundMessage.objects.get(outcome="refused")
    detail = client.get(reverse("admin:inbound_inboundmessage_change", args=[row.pk]))
    assert "Download the original" in detail.content.decode()
    original = client.get(reverse("admin:inbound_inboundmessage_original", args=[row.pk]))
    assert original["Content-Type"] == "message/rfc822"
    assert b"x@elsewhere.example" in b"".join(original.streaming_content)


def test_site_contacts_cannot_open_the_ledger_or_an_original(client, pm, ticket):
    inbound_message_receive(raw=an_email(sender="x@elsewhere.example"))
    row = InboundMessage.objects.get()
    client.force_login(pm)
    assert client.get(reverse(LEDGER)).status_code == 302  # to the admin login
    original = client.get(reverse("admin:inbound_inboundmessage_original", args=[row.pk]))
    assert original.status_code == 302


def test_attach_to_ticket_keeps_an_unknown_senders_mail_as_an_internal_note(client, agent, ticket):
    # Sent to the plain address with a stranger's subject: nothing names the ticket.
    row, _ = inbound_message_receive(
        raw=an_email(sender="x@elsewhere.example", subject="Hello", body="Ward 4 is down.")
    )
    client.force_login(agent)
    response = attach(client, [row], ticket.reference.lower())
    assert "1 email(s) attached" in response.content.decode()
    note = Comment.objects.get(ticket=ticket, author=agent)
    assert not note.public  # an unknown sender's words stay internal
    assert "x@elsewhere.example" in note.body and "Ward 4 is down." in note.body
    row.refresh_from_db()
    assert (row.outcome, row.ticket, row.comment) == ("attached", ticket, note)

    again = attach(client, [row], ticket.reference)
    assert "on a ticket already" in again.content.decode()


def test_attach_to_ticket_as_the_senders_reply_when_they_may_reply(client, agent, site, pm):
    other = file_ticket(actor=pm, site=site, impact="low")
    MembershipFactory(user=pm, site=ClientSiteFactory(), role=Role.PM)
    row, _ = inbound_message_receive(raw=an_email(sender=pm.email, subject="Hi", body="Fixed."))
    assert row.outcome == "refused"  # several sites: asked to use the portal
    client.force_login(agent)
    attach(client, [row], other.reference)
    comment = Comment.objects.get(ticket=other, body="Fixed.")
    assert comment.public and comment.author == pm


def test_attach_to_ticket_needs_a_known_reference(client, agent):
    row, _ = inbound_message_receive(raw=an_email(sender="x@elsewhere.example"))
    client.force_login(agent)
    response = attach(client, [row], "RX-999999")
    assert "Type the reference of an existing ticket" in response.content.decode()


def test_the_inbound_ledger_reads_in_the_agents_zone_with_no_query_per_row(client, agent, ticket):
    from datetime import UTC, datetime

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    at = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)

    def add(count: int, tag: str) -> None:
        InboundMessage.objects.bulk_create(
            InboundMessage(message_id=f"<{tag}{i}@h.example>", received_at=at, ticket=ticket,
                           outcome=InboundMessage.Outcome.COMMENTED)
            for i in range(count)
        )  # fmt: skip

    def page() -> tuple[str, int]:
        client.get(reverse(LEDGER))
        with CaptureQueriesContext(connection) as captured:
            text = client.get(reverse(LEDGER)).content.decode()
        return text, len(captured)

    client.force_login(agent)
    add(2, "a")
    text, _ = page()
    assert "Wed 25 Nov 2026, 10:00 EST" in text  # the ticket's site's zone
    client.post(reverse("backoffice:preferences"), {"timezone": "Europe/Berlin"})
    text, small = page()
    assert "Wed 25 Nov 2026, 16:00 CET" in text and "EST" not in text
    add(60, "b")
    assert page()[1] == small
