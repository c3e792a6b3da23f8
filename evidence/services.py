"""Writes of the evidence app: sealing facts into the chains, recording who looked, and the
retention purge. Sealing reads committed source rows and appends; nothing here edits an entry."""

import heapq
import logging
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import groupby, islice
from operator import attrgetter

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from escalation.models import EscalationRecord
from tickets.bulk import rows_update, values_insert
from tickets.models import Notification, Status, Ticket, TicketEvent
from tickets.selectors import is_staff

from .chain import (
    ATTEMPT_FIELDS,
    ATTEMPT_SOURCE,
    ESCALATION_SOURCE,
    EVENT_SOURCE,
    EVENTS_NOT_SEALED,
    Fact,
    Source,
    attempt_fact,
    entry_hash,
    escalation_fact,
    event_fact,
    source_key_sql,
)
from .models import EvidenceChain, EvidenceEntry, SealMark, TicketView

logger = logging.getLogger(__name__)

# Rows committed late (a transaction that began before the last seal but committed after it)
# are still found: each seal reads back this far before the previous one began.
LATE_COMMIT_MARGIN = timedelta(minutes=10)
TICKETS_PER_BATCH = 500
# Any constant: the key of the PostgreSQL advisory lock that makes seals run one at a time.
SEAL_LOCK_KEY = 0x45564944


_ticket_of = attrgetter("ticket_id")


def _unsealed(rows: QuerySet, spec: Source) -> QuerySet:
    """The rows of `rows` whose fact has no entry yet: an anti-join on the entries' unique
    `source`, so a seal reads back only what it still has to chain, however much happened in
    the margin it looks back over. Against every entry, not only recent ones: a row sent
    again by staff restarts its attempts, and its attempt 1 was sealed long before."""
    sealed = EvidenceEntry.objects.filter(source=OuterRef("evidence_source"))
    return rows.alias(evidence_source=source_key_sql(spec)).filter(~Exists(sealed))


def _sources(since: datetime | None) -> tuple[QuerySet, QuerySet, QuerySet]:
    """Events, escalation records and send attempts since `since` not sealed yet."""
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
    return (
        _unsealed(events, EVENT_SOURCE),
        _unsealed(records, ESCALATION_SOURCE),
        _unsealed(attempts, ATTEMPT_SOURCE),
    )


def _facts(since: datetime | None) -> Iterator[list[Fact]]:
    """The facts not sealed yet, a batch of tickets at a time, each batch in the order it is
    chained in (per ticket, by time). The three sources are each read once, by ticket, and
    merged: no query per batch, whose plan would hang on statistics that an outage's burst
    has just made stale."""
    events, records, attempts = _sources(since)
    size = 2000
    streams = [
        (
            event_fact(e)
            for e in events.select_related("actor").order_by("ticket_id").iterator(size)
        ),
        (
            escalation_fact(r)
            for r in records.select_related("actor").order_by("ticket_id").iterator(size)
        ),
        (
            attempt_fact(n)
            for n in attempts.only(*ATTEMPT_FIELDS).order_by("ticket_id").iterator(size)
        ),
    ]
    by_ticket = groupby(heapq.merge(*streams, key=_ticket_of), key=_ticket_of)
    while batch := [fact for _, facts in islice(by_ticket, TICKETS_PER_BATCH) for fact in facts]:
        yield sorted(batch, key=lambda f: (f.ticket_id, f.at, f.source))


def _append(*, facts: list[Fact], now: datetime) -> int:
    """Chain `facts` (not sealed yet, in time order per ticket) onto their tickets' chains:
    one insert of the entries, one of the new chains, one update of the extended ones."""
    by_ticket: dict[int, list[Fact]] = defaultdict(list)
    for fact in facts:
        by_ticket[fact.ticket_id].append(fact)
    chains = {c.ticket_id: c for c in EvidenceChain.objects.filter(ticket_id__in=by_ticket)}
    references = dict(
        Ticket.objects.filter(pk__in=[t for t in by_ticket if t not in chains]).values_list(
            "pk", "reference"
        )
    )
    entries: list[dict] = []
    new_chains, extended = [], []
    for ticket_id, ticket_facts in by_ticket.items():
        chain = chains.get(ticket_id)
        if chain is None:
            if ticket_id not in references:
                continue  # the ticket is gone: nothing to chain its facts to
            chain = EvidenceChain(ticket_id=ticket_id, reference=references[ticket_id])
            new_chains.append(chain)
        elif chain.purged_at is not None:
            continue
        else:
            extended.append(chain)
        for fact in ticket_facts:
            seq = chain.length + 1
            digest = entry_hash(
                prev_hash=chain.head_hash, seq=seq, kind=fact.kind, at=fact.at, payload=fact.payload
            )
            entries.append(
                {
                    "ticket_id": ticket_id, "seq": seq, "kind": fact.kind, "at": fact.at,
                    "source": fact.source, "payload": fact.payload,
                    "prev_hash": chain.head_hash, "hash": digest, "sealed_at": now,
                }
            )  # fmt: skip
            chain.length, chain.head_hash, chain.updated_at = seq, digest, now
    values_insert(model=EvidenceEntry, rows=entries)
    values_insert(
        model=EvidenceChain,
        rows=[
            {
                "ticket_id": c.ticket_id, "reference": c.reference, "length": c.length,
                "head_hash": c.head_hash, "updated_at": c.updated_at,
            }
            for c in new_chains
        ],
    )  # fmt: skip
    rows_update(objs=extended, fields=["length", "head_hash", "updated_at"])
    return len(entries)


@transaction.atomic
def evidence_seal(*, wait: bool = True) -> int:
    """Append every SLA fact not sealed yet to its ticket's chain, in time order; returns how
    many entries were added. Runs one at a time (a lock), in batches of tickets. With
    `wait=False` (a kick on a worker), a seal that finds another one running returns 0 at
    once instead of holding the worker; what the running one does not see, the next kick or
    beat's periodic seal chains."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if wait:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])
            else:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])
                if not cursor.fetchone()[0]:
                    logger.info("Evidence seal skipped: another seal is running.")
                    return 0
            # The sources are read to the end through cursors: plan them for that, not for
            # their first rows (which walks an index and probes the entries row by row).
            cursor.execute("SET LOCAL cursor_tuple_fraction = 1")
    mark = SealMark.objects.select_for_update().filter(pk=1).first() or SealMark.objects.create(
        pk=1
    )
    now = timezone.now()
    since = mark.sealed_until - LATE_COMMIT_MARGIN if mark.sealed_until else None
    added = sum(_append(facts=batch, now=now) for batch in _facts(since))
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
