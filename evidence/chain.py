"""The chain's arithmetic and the facts it seals, in one place: sealing and verification both
build payloads and hashes here, so they cannot drift apart.

hash = sha256("v1\\n" + prev_hash + "\\n" + seq + "\\n" + kind + "\\n" + at + "\\n" + payload)
where `at` is the ISO 8601 time in UTC and `payload` the JSON with sorted keys and no spaces.
Anyone holding the pack's JSON can recompute it with a few lines of any language.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import overload

from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Concat

from escalation.models import EscalationRecord
from tickets.models import Notification, TicketEvent

HASH_VERSION = "v1"

# History entries that are no SLA fact (an internal note's wording stays internal).
EVENTS_NOT_SEALED = (TicketEvent.Action.NOTE_ADDED,)


@overload
def iso(value: datetime) -> str: ...
@overload
def iso(value: datetime | None) -> str | None: ...
def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def canonical(payload: dict) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(*, prev_hash: str, seq: int, kind: str, at: datetime, payload: dict) -> str:
    text = "\n".join([HASH_VERSION, prev_hash, str(seq), kind, iso(at), canonical(payload)])
    return hashlib.sha256(text.encode()).hexdigest()


# Where each kind of fact is read from, as its entry's `source` records it: literal parts
# and the source row's columns, joined by ':' ("ticket_event:123",
# "notification:456:attempt:2"). Sealing works the same key out in the database too.
Source = tuple[str | F, ...]
EVENT_SOURCE: Source = ("ticket_event", F("pk"))
ESCALATION_SOURCE: Source = ("escalation_record", F("pk"))
ATTEMPT_SOURCE: Source = ("notification", F("pk"), "attempt", F("attempts"))


def source_key(spec: Source, row: object) -> str:
    """The source of the fact `row` gives."""
    return ":".join(str(getattr(row, p.name)) if isinstance(p, F) else p for p in spec)


def source_key_sql(spec: Source) -> Concat:
    """The same key as an expression over the source row's table, so that sealing finds the
    rows not sealed yet in one query instead of reading back every recent row."""
    pieces: list = []
    for index, part in enumerate(spec):
        if index:
            pieces.append(Value(":"))
        pieces.append(Cast(part, CharField()) if isinstance(part, F) else Value(part))
    return Concat(*pieces, output_field=CharField())


# What `attempt_fact` reads of an outbox row (not its rendered bodies or context).
ATTEMPT_FIELDS = (
    "ticket", "event", "sequence", "channel", "recipient", "subject", "status",
    "attempts", "last_error", "sent_at", "last_attempt_at",
)  # fmt: skip


@dataclass(frozen=True)
class Fact:
    """A source row read as something to seal."""

    ticket_id: int
    at: datetime
    kind: str
    source: str
    payload: dict


def _username(user) -> str | None:
    return None if user is None else user.get_username()


def event_fact(event: TicketEvent) -> Fact:
    return Fact(
        ticket_id=event.ticket_id,
        at=event.created_at,
        kind=f"ticket.{event.action}",
        source=source_key(EVENT_SOURCE, event),
        payload={
            "action": event.action,
            "actor": _username(event.actor),
            "changes": event.changes,
            "message": event.message,
            "at": iso(event.created_at),
        },
    )


def escalation_fact(record: EscalationRecord) -> Fact:
    return Fact(
        ticket_id=record.ticket_id,
        at=record.reached_at,
        kind="escalation.reached",
        source=source_key(ESCALATION_SOURCE, record),
        payload={
            "level": record.level,
            "from_level": record.from_level,
            "automatic": record.automatic,
            "actor": _username(record.actor),
            "notified": record.notified,
            "at": iso(record.reached_at),
        },
    )


def attempt_outcome(notification: Notification) -> str:
    if notification.status == Notification.Status.PENDING:
        return "retrying"
    return notification.status


def attempt_fact(notification: Notification) -> Fact:
    """One send attempt of an outbox row and what came of it. The row keeps only its latest
    attempt, so each is sealed after the delivery pass that made it (see the README)."""
    ticket_id, at = notification.ticket_id, notification.last_attempt_at
    if ticket_id is None or at is None:
        raise ValueError(f"notification {notification.pk} has no attempt on a ticket to seal")
    return Fact(
        ticket_id=ticket_id,
        at=at,
        kind=f"message.{attempt_outcome(notification)}",
        source=source_key(ATTEMPT_SOURCE, notification),
        payload={
            "notification": notification.pk,
            "event": notification.event,
            "sequence": notification.sequence,
            "channel": notification.channel,
            "recipient": notification.recipient,
            "subject": notification.subject,
            "attempt": notification.attempts,
            "outcome": attempt_outcome(notification),
            "server_answer": notification.last_error,
            "sent_at": iso(notification.sent_at),
            "at": iso(notification.last_attempt_at),
        },
    )


def parse_source(source: str) -> tuple[str, int, int | None]:
    """("ticket_event", 123, None), ("notification", 456, 2)...; ValueError when malformed."""
    parts = source.split(":")
    if len(parts) == 2:
        return parts[0], int(parts[1]), None
    if len(parts) == 4 and parts[2] == "attempt":
        return parts[0], int(parts[1]), int(parts[3])
    raise ValueError(f"unknown source {source!r}")
