"""Verification of the chains: every entry's hash recomputed and linked to the one before, the
chain head matched, and each payload compared with its source row where that row still holds
the same fact. Reads only; used by `manage.py verify_evidence` and by the tests."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db.models import QuerySet

from escalation.models import EscalationRecord
from tickets.models import Notification, TicketEvent

from .chain import (
    ATTEMPT_FIELDS,
    attempt_fact,
    entry_hash,
    escalation_fact,
    event_fact,
    parse_source,
)
from .models import EvidenceChain, EvidenceEntry

CHAINS_PER_BATCH = 200


@dataclass
class Break:
    reference: str
    seq: int | None
    kind: str
    problem: str

    def __str__(self) -> str:
        where = f"entry #{self.seq} ({self.kind})" if self.seq is not None else "chain head"
        return f"{self.reference}: {where}: {self.problem}"


@dataclass
class Summary:
    chains: int = 0
    entries: int = 0
    compared: int = 0
    purged: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


def _source_payloads(entries: list[EvidenceEntry]) -> dict[str, dict]:
    """The payload each entry's source row gives today (one query per source kind); a row that
    is gone, or a notification that has moved on to a later attempt, gives none."""
    wanted: dict[str, set[int]] = {
        "ticket_event": set(),
        "escalation_record": set(),
        "notification": set(),
    }
    for entry in entries:
        try:
            name, pk, _ = parse_source(entry.source)
        except ValueError:
            continue
        if name in wanted:
            wanted[name].add(pk)
    events = TicketEvent.objects.filter(pk__in=wanted["ticket_event"])
    records = EscalationRecord.objects.filter(pk__in=wanted["escalation_record"])
    facts = [
        *(event_fact(e) for e in events.select_related("actor")),
        *(escalation_fact(r) for r in records.select_related("actor")),
        *(
            attempt_fact(n)
            for n in Notification.objects.filter(pk__in=wanted["notification"]).only(
                *ATTEMPT_FIELDS
            )
        ),
    ]
    return {fact.source: fact.payload for fact in facts}


def _chain_check(
    chain: EvidenceChain, entries: list[EvidenceEntry], today: dict
) -> tuple[list[Break], int]:
    prev_hash, expected_seq, compared = "", 1, 0
    for entry in entries:

        def broken(problem: str, entry=entry) -> list[Break]:
            return [Break(chain.reference, entry.seq, entry.kind, problem)]

        if entry.seq != expected_seq:
            return broken(f"entry #{expected_seq} is missing"), compared
        if entry.prev_hash != prev_hash:
            return broken("its link to the entry before does not match"), compared
        digest = entry_hash(
            prev_hash=entry.prev_hash,
            seq=entry.seq,
            kind=entry.kind,
            at=entry.at,
            payload=entry.payload,
        )
        if digest != entry.hash:
            return broken("its hash does not match its content (edited after sealing)"), compared
        if entry.source in today:
            compared += 1
            if today[entry.source] != entry.payload:
                return broken(f"its source row {entry.source} was edited after sealing"), compared
        prev_hash, expected_seq = entry.hash, expected_seq + 1
    if expected_seq - 1 != chain.length or prev_hash != chain.head_hash:
        return [
            Break(
                chain.reference,
                None,
                "",
                f"the chain should end at entry #{chain.length}, it ends at #{expected_seq - 1}",
            )
        ], compared
    return [], compared


def evidence_verify(
    *, chains: QuerySet[EvidenceChain], progress: Callable[[int], None] | None = None
) -> Summary:
    """Check every chain given; a break names the ticket and the first entry that fails."""
    summary = Summary()
    summary.purged = chains.filter(purged_at__isnull=False).count()
    live = chains.filter(purged_at__isnull=True).order_by("pk")
    for batch in _batches(live):
        entries = list(
            EvidenceEntry.objects.filter(ticket_id__in=[c.ticket_id for c in batch]).order_by(
                "ticket_id", "seq"
            )
        )
        today = _source_payloads(entries)
        by_ticket: dict[int, list[EvidenceEntry]] = {}
        for entry in entries:
            by_ticket.setdefault(entry.ticket_id, []).append(entry)
        for chain in batch:
            breaks, compared = _chain_check(chain, by_ticket.get(chain.ticket_id, []), today)
            summary.breaks += breaks
            summary.compared += compared
        summary.chains += len(batch)
        summary.entries += len(entries)
        if progress:
            progress(len(batch))
    return summary


def _batches(chains: QuerySet[EvidenceChain]) -> Iterator[list[EvidenceChain]]:
    last = 0
    while batch := list(chains.filter(pk__gt=last)[:CHAINS_PER_BATCH]):
        yield batch
        last = batch[-1].pk
