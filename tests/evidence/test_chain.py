"""The tamper-evident record: what is sealed, how the chain links, and that verification names
the ticket and the entry at the first break."""

import datetime

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection

from evidence.chain import entry_hash
from evidence.models import EvidenceChain, EvidenceEntry
from evidence.services import evidence_seal
from tests.sla.helpers import file_ticket, scan_at
from tests.smtp_server import smtp_server, smtp_settings
from tickets.models import Notification, TicketEvent
from tickets.services import notifications_resend

from .conftest import MONDAY
from .helpers import HOUR, breached_incident, seal_at

pytestmark = pytest.mark.django_db


def verify(*args) -> tuple[str, int]:
    """Run verify_evidence; its output and exit status."""
    from io import StringIO

    out = StringIO()
    try:
        call_command("verify_evidence", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue() + str(exc), exc.returncode
    return out.getvalue(), 0


def test_filing_breach_escalation_and_each_message_sent_are_chained_in_time_order(site, pm):
    ticket = breached_incident(pm=pm, site=site)
    entries = list(EvidenceEntry.objects.filter(ticket=ticket).order_by("seq"))
    kinds = [e.kind for e in entries]
    assert kinds[0] == "ticket.created"
    assert "ticket.sla" in kinds  # the breach
    assert "escalation.reached" in kinds
    sent = [e for e in entries if e.kind == "message.sent"]
    assert {e.payload["event"] for e in sent} >= {"ticket_filed", "response_breached"}
    assert all(e.payload["recipient"] for e in sent)
    # Linked: each entry holds the previous one's hash, and its own hash covers its content.
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    previous = ""
    for entry in entries:
        assert entry.prev_hash == previous
        assert entry.hash == entry_hash(
            prev_hash=previous, seq=entry.seq, kind=entry.kind, at=entry.at, payload=entry.payload
        )
        previous = entry.hash
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    chain = EvidenceChain.objects.get(ticket=ticket)
    assert (chain.length, chain.head_hash) == (len(entries), previous)


def test_sealing_twice_adds_nothing_and_later_facts_extend_the_chain(site, pm):
    ticket = breached_incident(pm=pm, site=site)
    length = EvidenceChain.objects.get(ticket=ticket).length
    assert seal_at(MONDAY + 2 * HOUR) == 0
    scan_at(MONDAY + 2 * HOUR + datetime.timedelta(minutes=5))  # the first automated update
    assert seal_at(MONDAY + 2 * HOUR + datetime.timedelta(minutes=6)) > 0
    chain = EvidenceChain.objects.get(ticket=ticket)
    assert chain.length > length
    first_new = EvidenceEntry.objects.get(ticket=ticket, seq=length + 1)
    assert first_new.prev_hash == EvidenceEntry.objects.get(ticket=ticket, seq=length).hash
    assert verify()[1] == 0


def test_a_fact_committed_after_a_seal_began_is_chained_by_the_next_one(site, pm):
    """A transaction that was open while a seal ran commits rows stamped before that seal:
    the next seal looks back over a margin, finds them and chains them once."""
    ticket = breached_incident(pm=pm, site=site)  # sealed at 1 h 2 min
    length = EvidenceChain.objects.get(ticket=ticket).length
    late = TicketEvent.objects.create(
        ticket=ticket, action=TicketEvent.Action.STATUS_CHANGED, message="Status changed."
    )
    TicketEvent.objects.filter(pk=late.pk).update(created_at=MONDAY + HOUR)
    assert seal_at(MONDAY + HOUR + datetime.timedelta(minutes=5)) == 1
    entry = EvidenceEntry.objects.get(source=f"ticket_event:{late.pk}")
    assert (entry.ticket_id, entry.seq, entry.kind) == (
        ticket.pk,
        length + 1,
        "ticket.status_changed",
    )
    assert entry.at == MONDAY + HOUR
    assert seal_at(MONDAY + HOUR + datetime.timedelta(minutes=6)) == 0
    assert verify()[1] == 0


def test_a_retried_send_keeps_both_attempts_when_sealed_after_each_delivery_pass(
    settings, site, pm
):
    with smtp_server(refuse=1) as (handler, port):
        smtp_settings(settings, port)
        ticket = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
        scan_at(MONDAY + datetime.timedelta(minutes=1))  # the first attempt is refused
        seal_at(MONDAY + datetime.timedelta(minutes=2))
        scan_at(MONDAY + datetime.timedelta(minutes=30))  # the retry is due by then
        seal_at(MONDAY + datetime.timedelta(minutes=31))
    attempts = EvidenceEntry.objects.filter(ticket=ticket, kind__startswith="message.")
    refused = attempts.get(kind="message.retrying")
    assert refused.payload["attempt"] == 1
    assert "451" in refused.payload["server_answer"]
    again = attempts.get(source=f"notification:{refused.payload['notification']}:attempt:2")
    assert again.kind == "message.sent"
    assert handler.messages  # it did go out in the end
    assert verify()[1] == 0


def test_a_failed_message_sent_again_by_staff_is_sealed_as_a_further_attempt(
    settings, site, pm, agent
):
    """Staff's "send again" gives a failed row a fresh retry budget; its next attempt is
    attempt 2, chained beside the failed attempt 1, and the chain still verifies (numbering
    from 1 again would make the sealed failure look edited)."""
    settings.NOTIFICATION_MAX_ATTEMPTS = 1
    # Refused: the filing's two emails (to the project manager and the staff queue), then
    # the first time the project manager's is sent again.
    with smtp_server(refuse=3) as (handler, port):
        smtp_settings(settings, port)
        ticket = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
        scan_at(MONDAY + datetime.timedelta(minutes=1))  # refused: failed for good
        seal_at(MONDAY + datetime.timedelta(minutes=2))
        row = Notification.objects.get(ticket=ticket, event="ticket_filed", status="failed")
        for attempt, when in ((2, 2 * HOUR), (3, 4 * HOUR)):
            with time_machine.travel(MONDAY + when, tick=False):
                assert notifications_resend(notification_ids=[row.pk], actor=agent) == 1
            scan_at(MONDAY + when + datetime.timedelta(minutes=1))
            seal_at(MONDAY + when + datetime.timedelta(minutes=2))
            row.refresh_from_db()
            assert row.attempts == attempt
    assert row.status == "sent"  # the third attempt went out
    assert handler.messages
    outcomes = EvidenceEntry.objects.filter(source__startswith=f"notification:{row.pk}:")
    assert dict(outcomes.values_list("source", "kind")) == {
        f"notification:{row.pk}:attempt:1": "message.failed",
        f"notification:{row.pk}:attempt:2": "message.failed",
        f"notification:{row.pk}:attempt:3": "message.sent",
    }
    assert seal_at(MONDAY + 5 * HOUR) == 0
    out, status = verify()
    assert status == 0, out


def test_verify_evidence_passes_on_untouched_chains(site, pm):
    breached_incident(pm=pm, site=site)
    out, status = verify()
    assert status == 0
    assert "Every chain verifies." in out
    assert "Chains: 1 checked" in out


def test_an_entry_edited_in_sql_is_named_by_ticket_and_entry(site, pm):
    ticket = breached_incident(pm=pm, site=site)
    entry = EvidenceEntry.objects.get(ticket=ticket, kind="escalation.reached")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE evidence_evidenceentry SET at = %s WHERE id = %s",
            [entry.at + datetime.timedelta(hours=5), entry.pk],
        )
    out, status = verify()
    assert status != 0
    assert f"BROKEN {ticket.reference}: entry #{entry.seq} (escalation.reached)" in out
    assert "edited after sealing" in out


def test_a_payload_rewritten_with_its_hash_recomputed_still_breaks_the_next_link(site, pm):
    ticket = breached_incident(pm=pm, site=site)
    # A thorough forger rewrites the history row, the entry and the entry's own hash.
    entry = EvidenceEntry.objects.get(ticket=ticket, seq=1)
    payload = {**entry.payload, "message": "Filed by phone"}
    TicketEvent.objects.filter(pk=entry.source.split(":")[1]).update(message="Filed by phone")
    forged = entry_hash(prev_hash="", seq=1, kind=entry.kind, at=entry.at, payload=payload)
    EvidenceEntry.objects.filter(pk=entry.pk).update(payload=payload, hash=forged)
    out, status = verify()
    assert status != 0
    assert f"{ticket.reference}: entry #2" in out
    assert "link to the entry before" in out


def test_a_source_row_edited_after_sealing_is_detected(site, pm):
    ticket = breached_incident(pm=pm, site=site)
    event = TicketEvent.objects.get(ticket=ticket, action=TicketEvent.Action.CREATED)
    TicketEvent.objects.filter(pk=event.pk).update(message="Filed by someone else")
    out, status = verify()
    assert status != 0
    assert f"{ticket.reference}: entry #1 (ticket.created)" in out
    assert f"source row ticket_event:{event.pk} was edited" in out


def test_a_deleted_last_entry_is_detected_at_the_chain_head(site, pm):
    ticket = breached_incident(pm=pm, site=site)
    last = EvidenceEntry.objects.filter(ticket=ticket).order_by("-seq").first()
    assert last is not None
    EvidenceEntry.objects.filter(pk=last.pk).delete()
    out, status = verify()
    assert status != 0
    assert f"{ticket.reference}: chain head" in out


def test_verify_for_one_site_checks_only_its_chains(site, pm, other_site, other_pm):
    breached_incident(pm=pm, site=site)
    other = breached_incident(pm=other_pm, site=other_site, at=MONDAY + 3 * HOUR)
    EvidenceEntry.objects.filter(ticket=other, seq=1).update(kind="ticket.forged")
    assert verify("--site", site.slug)[1] == 0
    out, status = verify("--site", other_site.slug)
    assert status != 0 and other.reference in out
    out, status = verify("--site", "no-such-site")
    assert status != 0 and "No site has the slug 'no-such-site'" in out


def test_notifications_without_a_ticket_and_internal_notes_are_not_sealed(site, pm, agent):
    from tickets.services import comment_post

    ticket = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
    comment_post(ticket=ticket, author=agent, body="Internal: call the vendor", public=False)
    evidence_seal()
    kinds = set(EvidenceEntry.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert "ticket.note_added" not in kinds
    assert not Notification.objects.filter(ticket__isnull=True).exists()
