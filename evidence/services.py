"""Writes of the evidence app: sealing facts into the chains, recording who looked, and the
retention purge. Sealing reads committed source rows and appends; nothing here edits an entry."""

from collections import defaultdict
from datetime import datetime, timedelta
from itertools import islice

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from escalation.models import EscalationRecord
from tickets.models import Notification, Status, Ticket, TicketEvent
from tickets.selectors import is_staff

from .chain import (
    EVENTS_NOT_SEALED,
    Fact,
    attempt_fact,
    entry_hash,
    escalation_fact,
    event_fact,
)
from .models import EvidenceChain, EvidenceEntry, SealMark, TicketView

# Rows committed late (a transaction that began before the last seal but committed after it)
# are still found: each seal reads back this far before the previous one began.
LATE_COMMIT_MARGIN = timedelta(minutes=10)
TICKETS_PER_BATCH = 500
# Any constant: the key of the PostgreSQL advisory lock that makes seals run one at a time.
SEAL_LOCK_KEY = 0x45564944


def _chunks(items: list, size: int):
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _sources(since: datetime | None):
    events = TicketEvent.objects.exclude(action__in=EVENTS_NOT_SEALED)
    records = EscalationRecord.objects.all()
    # An attempt still in flight (`sending`) has no outcome yet: sealed after its pass.
    attempts = Notification.objects.filter(ticket__isnull=False, attempts__gt=0).exclude(
        status=Notification.Status.SENDING
    )
    if since is not None:
        events = events.filter(created_at__gte=since)
        records = records.filter(reached_at__gte=since)
        attempts = attempts.filter(last_attempt_at__gte=since)
    return events, records, attempts


def _facts(*, since: datetime | None, ticket_ids: list[int]) -> list[Fact]:
    events, records, attempts = _sources(since)
    mine = {"ticket_id__in": ticket_ids}
    facts = [
        *(event_fact(e) for e in events.filter(**mine).select_related("actor")),
        *(escalation_fact(r) for r in records.filter(**mine).select_related("actor")),
        *(attempt_fact(n) for n in attempts.filter(**mine)),
    ]
    sealed = set(
        EvidenceEntry.objects.filter(source__in=[f.source for f in facts]).values_list(
            "source", flat=True
        )
    )
    return sorted(
        (f for f in facts if f.source not in sealed), key=lambda f: (f.ticket_id, f.at, f.source)
    )


def _append(*, facts: list[Fact], now: datetime) -> int:
    by_ticket: dict[int, list[Fact]] = defaultdict(list)
    for fact in facts:
        by_ticket[fact.ticket_id].append(fact)
    chains = {c.ticket_id: c for c in EvidenceChain.objects.filter(ticket_id__in=by_ticket)}
    references = dict(
        Ticket.objects.filter(pk__in=[t for t in by_ticket if t not in chains]).values_list(
            "pk", "reference"
        )
    )
    entries, new_chains = [], []
    for ticket_id, ticket_facts in by_ticket.items():
        chain = chains.get(ticket_id)
        if chain is None:
            if ticket_id not in references:
                continue  # the ticket is gone: nothing to chain its facts to
            chain = EvidenceChain(ticket_id=ticket_id, reference=references[ticket_id])
            new_chains.append(chain)
        elif chain.purged_at is not None:
            continue
        for fact in ticket_facts:
            seq = chain.length + 1
            digest = entry_hash(
                prev_hash=chain.head_hash, seq=seq, kind=fact.kind, at=fact.at, payload=fact.payload
            )
            entries.append(
                EvidenceEntry(
                    ticket_id=ticket_id, seq=seq, kind=fact.kind, at=fact.at, source=fact.source,
                    payload=fact.payload, prev_hash=chain.head_hash, hash=digest, sealed_at=now,
                )
            )  # fmt: skip
            chain.length, chain.head_hash, chain.updated_at = seq, digest, now
    EvidenceEntry.objects.bulk_create(entries, batch_size=1000)
    EvidenceChain.objects.bulk_create(new_chains, batch_size=1000)
    existing = [c for c in chains.values() if c.purged_at is None and c.updated_at == now]
    EvidenceChain.objects.bulk_update(
        existing, ["length", "head_hash", "updated_at"], batch_size=1000
    )
    return len(entries)


@transaction.atomic
def evidence_seal() -> int:
    """Append every SLA fact not sealed yet to its ticket's chain, in time order; returns how
    many entries were added. Runs one at a time (a lock), in batches of tickets."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])
    mark = SealMark.objects.select_for_update().filter(pk=1).first() or SealMark.objects.create(
        pk=1
    )
    now = timezone.now()
    since = mark.sealed_until - LATE_COMMIT_MARGIN if mark.sealed_until else None
    events, records, attempts = _sources(since)
    ticket_ids = sorted(
        set(events.values_list("ticket_id", flat=True).order_by())
        | set(records.values_list("ticket_id", flat=True).order_by())
        | set(attempts.values_list("ticket_id", flat=True).order_by())
    )
    added = 0
    for batch in _chunks(ticket_ids, TICKETS_PER_BATCH):
        added += _append(facts=_facts(since=since, ticket_ids=batch), now=now)
    mark.sealed_until = now
    mark.save(update_fields=["sealed_until"])
    return added


def ticket_view_record(
    *,
    user,
    ticket_id: int,
    what: str,
    face: str,
    attachment_id: int | None = None,
) -> TicketView | None:
    """Record that a staff member opened part of a ticket (one insert); site members reading
    their own tickets are not recorded."""
    if not is_staff(user):
        return None
    return TicketView.objects.create(
        ticket_id=ticket_id,
        viewer=user,
        viewer_name=user.get_full_name() or user.get_username(),
        what=what,
        face=face,
        attachment_id=attachment_id,
        at=timezone.now(),
    )


def purgeable_chains(*, now: datetime | None = None):
    """Chains of tickets closed (or resolved) longer ago than EVIDENCE_RETENTION_DAYS."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.EVIDENCE_RETENTION_DAYS)
    done = Ticket.objects.filter(
        Q(status=Status.CLOSED, closed_at__lt=cutoff)
        | Q(status=Status.CLOSED, closed_at__isnull=True, resolved_at__lt=cutoff)
        | Q(status=Status.RESOLVED, resolved_at__lt=cutoff)
    )
    return EvidenceChain.objects.filter(purged_at__isnull=True, ticket__in=done)


@transaction.atomic
def evidence_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Remove whole chains (and the view records) of tickets done before the retention period;
    the chain row stays, marked purged, so what is kept still verifies and nothing re-seals."""
    now = now or timezone.now()
    chains = purgeable_chains(now=now)
    ticket_ids = list(chains.values_list("ticket_id", flat=True))
    entries, _ = EvidenceEntry.objects.filter(ticket_id__in=ticket_ids).delete()
    views, _ = TicketView.objects.filter(ticket_id__in=ticket_ids).delete()
    purged = EvidenceChain.objects.filter(ticket_id__in=ticket_ids).update(purged_at=now)
    return {"chains": purged, "entries": entries, "views": views}
