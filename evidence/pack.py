"""The evidence pack of one site for one month: the SLA report's figures, each missed first
response with its sealed timeline and the messages sent, and the hash chains as JSON.

Other apps add sections (the policy version each ticket ran on, the client's ratings) with
`pack_section_register`; each section shows as a table in the PDF and as rows in the JSON.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from sla.report import SLAReport, month_bounds, sla_report_get
from tickets.models import ClientSite, Notification, Ticket, TicketEvent

from .chain import HASH_VERSION, iso
from .models import EvidenceChain, EvidenceEntry

PACK_FORMAT = "rx-health-evidence-pack/1"


@dataclass
class PackSection:
    title: str
    columns: list[str]
    rows: list[list[str]]


# (site, tickets visible and filed in the month, month start, month end) -> section or None
SectionProvider = Callable[[ClientSite, QuerySet[Ticket], datetime, datetime], PackSection | None]
_SECTIONS: dict[str, SectionProvider] = {}


def pack_section_register(name: str, provider: SectionProvider) -> None:
    """Hook for the policy versions and ratings: call from the app's `ready()`."""
    _SECTIONS[name] = provider


@dataclass
class Breach:
    ticket: Ticket
    entries: list[EvidenceEntry]
    messages: list[Notification]

    @property
    def timeline(self) -> list[dict]:
        return [{"entry": e, "summary": entry_summary(e)} for e in self.entries]


@dataclass
class EvidencePack:
    site: ClientSite
    year: int
    month: int
    generated_at: datetime
    report: SLAReport
    breaches: list[Breach]
    chains: list[EvidenceChain]
    entries: dict[int, list[EvidenceEntry]]  # ticket id -> its whole chain, in order
    sections: dict[str, PackSection] = field(default_factory=dict)

    @property
    def month_label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


MISSED = Q(response_breached_at__isnull=False) | Q(responded_at__gt=F("response_due_at"))


def evidence_pack_get(
    *, tickets: QuerySet[Ticket], site: ClientSite, year: int, month: int
) -> EvidencePack:
    """Everything the pack shows, in a fixed number of queries. The chains are those of the
    site's tickets filed in the month or with a sealed fact in it, each from its first entry."""
    report = sla_report_get(tickets=tickets, site=site, year=year, month=month)
    start, end = month_bounds(year=year, month=month, tz=site.timezone)
    mine = tickets.filter(site=site)
    filed = mine.filter(created_at__gte=start, created_at__lt=end)
    active = EvidenceEntry.objects.filter(at__gte=start, at__lt=end, ticket__in=mine)
    chains = list(
        EvidenceChain.objects.filter(
            Q(ticket__in=filed) | Q(ticket_id__in=active.values("ticket_id"))
        ).order_by("reference")
    )
    entries: dict[int, list[EvidenceEntry]] = {c.ticket_id: [] for c in chains}
    for entry in EvidenceEntry.objects.filter(ticket_id__in=entries).order_by("ticket_id", "seq"):
        entries[entry.ticket_id].append(entry)
    missed = list(filed.filter(MISSED).select_related("assignee").order_by("created_at", "pk"))
    messages: dict[int, list[Notification]] = {t.pk: [] for t in missed}
    for row in Notification.objects.filter(ticket_id__in=messages, attempts__gt=0).order_by(
        "last_attempt_at", "pk"
    ):
        assert row.ticket_id is not None  # filtered on ticket_id__in
        messages[row.ticket_id].append(row)
    breaches = [Breach(t, entries.get(t.pk, []), messages[t.pk]) for t in missed]
    sections = {}
    for name, provider in _SECTIONS.items():
        section = provider(site, filed, start, end)
        if section is not None:
            sections[name] = section
    return EvidencePack(
        site=site, year=year, month=month, generated_at=timezone.now(), report=report,
        breaches=breaches, chains=chains, entries=entries, sections=sections,
    )  # fmt: skip


def pack_json(pack: EvidencePack) -> dict:
    """The machine-readable half: the chains with everything needed to recompute each hash."""
    report = pack.report
    return {
        "format": PACK_FORMAT,
        "site": {"slug": pack.site.slug, "name": pack.site.name, "timezone": pack.site.timezone},
        "month": pack.month_label,
        "month_start": iso(report.month_start),
        "month_end": iso(report.month_end),
        "generated_at": iso(pack.generated_at),
        "hash": {
            "algorithm": "sha256",
            "version": HASH_VERSION,
            "input": (
                "'v1' LF prev_hash LF seq LF kind LF at (ISO 8601, UTC) LF payload (JSON, "
                "sorted keys, separators ',' and ':', UTF-8)"
            ),
        },
        "report": {
            "first_responses": [
                {
                    "group": r.label,
                    "tickets": r.total,
                    "met": r.met,
                    "missed": r.missed,
                    "no_response_yet": r.pending,
                    "met_percent": r.met_percent,
                }
                for r in [*report.rows, report.overall]
            ],
            "staff_updates": report.human_updates,
            "automated_updates": report.automated_updates,
            "escalations_by_highest_level": {str(k): v for k, v in report.escalations.items()},
        },
        "breaches": [b.ticket.reference for b in pack.breaches],
        "sections": {
            name: {"title": s.title, "columns": s.columns, "rows": s.rows}
            for name, s in pack.sections.items()
        },
        "chains": [
            {
                "ticket": chain.reference,
                "length": chain.length,
                "head_hash": chain.head_hash,
                "entries": [
                    {
                        "seq": e.seq,
                        "kind": e.kind,
                        "at": iso(e.at),
                        "source": e.source,
                        "payload": e.payload,
                        "prev_hash": e.prev_hash,
                        "hash": e.hash,
                    }
                    for e in pack.entries.get(chain.ticket_id, [])
                ],
            }
            for chain in pack.chains
        ],
    }


def _value(value) -> str:
    if value in (None, ""):
        return "none"
    return str(value)


def entry_summary(entry: EvidenceEntry) -> str:
    """One line a person can read for a sealed fact."""
    p = entry.payload
    if entry.kind.startswith("message."):
        what = f"{p.get('event')} #{p.get('sequence')} to {p.get('recipient')}"
        if p.get("outcome") == "sent":
            return f"Message sent: {what} ({p.get('subject') or 'no subject'})"
        answer = p.get("server_answer") or "no answer"
        return f"Send attempt {p.get('attempt')} {p.get('outcome')}: {what}; server: {answer}"
    if entry.kind == "escalation.reached":
        how = "automatically" if p.get("automatic") else f"by {p.get('actor') or 'staff'}"
        notified = (
            ", ".join(
                f"{n.get('name')} <{n.get('email')}>" if isinstance(n, dict) else str(n)
                for n in p.get("notified") or []
            )
            or "no one"
        )
        levels = f"from level {p.get('from_level')} to {p.get('level')}"
        return f"Escalated {levels} {how}; notified {notified}"
    action = entry.kind.removeprefix("ticket.")
    label = TicketEvent.Action(action).label if action in TicketEvent.Action.values else action
    changes = "; ".join(
        f"{field}: {_value(pair[0])} → {_value(pair[1])}"
        if isinstance(pair, list) and len(pair) == 2
        else f"{field}: {pair}"
        for field, pair in sorted((p.get("changes") or {}).items())
    )
    who = f" by {p['actor']}" if p.get("actor") else ""
    return " · ".join(part for part in (f"{label}{who}", p.get("message"), changes) if part)
