"""The escalation ladder's batch machinery, shared by the scan step, the start at a breach
and a site contact's request: what a batch needs loaded once (`_Ladder`), the rows it writes
(`_Writes`, one statement per kind), the level's email context and its rendering.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import get_script_prefix, get_urlconf, reverse

from sla.clocks import deadline
from sla.models import SLAPolicy
from tickets.actors import Actor
from tickets.bulk import values_insert
from tickets.models import Notification, Ticket, TicketEvent
from tickets.notify import backoffice_url, ticket_labels
from tickets.outbox import notifications_enqueue_many

from .models import EscalationContact, EscalationRecord
from .selectors import (
    ack_token_make,
    contacts_for_sites,
    level_names,
    max_level_for,
    maximum_levels,
    policies_by_kind,
    recipients_for,
)
from .signals import Escalation, tickets_escalated


@dataclass
class _Ladder:
    """What escalating a batch of tickets needs, loaded in a fixed number of queries."""

    maximums: dict[tuple[str, str], int]
    policies: dict[tuple[str, str], SLAPolicy]
    contacts: list[EscalationContact]
    names: dict[int, str]
    heard: dict[tuple[int, int], tuple[list[str], list[dict]]] = field(default_factory=dict)

    @classmethod
    def load(cls, *, site_ids: set[int]) -> "_Ladder":
        return cls(
            maximums=maximum_levels(),
            policies=policies_by_kind(),
            contacts=contacts_for_sites(site_ids=site_ids),
            names=level_names(),
        )

    def max_level(self, ticket: Ticket) -> int:
        return max_level_for(ticket=ticket, maximums=self.maximums)

    def policy(self, ticket: Ticket) -> SLAPolicy | None:
        return self.policies.get((ticket.kind, ticket.impact or ""))

    def hearing(self, *, site_id: int, level: int) -> tuple[list[str], list[dict]]:
        """(emails, the record's `notified` list) of who hears that a ticket of this site
        reached `level`: worked out once per site and level, not per ticket."""
        key = (site_id, level)
        if key not in self.heard:
            contacts = recipients_for(contacts=self.contacts, site_id=site_id, level=level)
            self.heard[key] = (
                [c.email for c in contacts],
                [
                    {"name": c.name, "role": c.role, "email": c.email, "level": c.level.number}
                    for c in contacts
                ],
            )
        return self.heard[key]


@dataclass
class _Writes:
    """Rows to insert for a batch of escalations (plain values, no model instances), each
    kind in one query."""

    records: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    notifications: list[dict] = field(default_factory=list)
    reached: list[tuple[Ticket, int, bool, Any]] = field(default_factory=list)

    def save(self) -> None:
        values_insert(model=EscalationRecord, rows=self.records, ignore_conflicts=True)
        values_insert(model=TicketEvent, rows=self.events)
        notifications_enqueue_many(rows=self.notifications)
        if self.reached:
            tickets_escalated.send(
                sender=Ticket, escalations=[Escalation(*reached) for reached in self.reached]
            )


def _duration(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes == 0:
        return "less than 1 min"
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    return " ".join(parts)


_PLACEHOLDER = "ack-placeholder"


@lru_cache(maxsize=8)
def _ack_path(urlconf: str, prefix: str) -> tuple[str, str]:
    # Reversed once per URLconf: a grouped message lists hundreds of acknowledgement links.
    # Signed tokens use only characters that reverse() leaves as they are.
    path = reverse("escalation-ack", args=[_PLACEHOLDER], urlconf=urlconf)
    head, _, tail = path.partition(_PLACEHOLDER)
    return head, tail


def _ack_url(*, ticket_id: int, level: int, email: str) -> str:
    token = ack_token_make(ticket_id=ticket_id, level=level, email=email)
    head, tail = _ack_path(get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
    return f"{settings.PORTAL_BASE_URL}{head}{token}{tail}"


def _row_ack_url(notification: Notification) -> str:
    """The acknowledgement link an escalation row's email carries (for its level, its contact)."""
    if notification.ticket_id is None:
        raise ValueError(f"escalation row {notification.pk} names no ticket")
    return _ack_url(
        ticket_id=notification.ticket_id,
        level=notification.sequence,
        email=notification.recipient,
    )


def _notifications(
    *,
    ticket: Ticket,
    level: int,
    when: datetime,
    recipients: list[str],
    ladder: _Ladder,
    requested_by: Actor | None = None,
) -> dict | None:
    """The level's email to its recipients: one context per ticket and level (the outbox
    writes a row per recipient); delivery renders it (`escalation_email_render`) with each
    contact's own acknowledgement link."""
    if not recipients:
        return None
    late_by = when - ticket.response_due_at if ticket.response_due_at else timedelta(0)
    admin_url = backoffice_url(ticket)
    kind, impact, status = ticket_labels(ticket)
    context = {
        "reference": ticket.reference,
        "title": " ".join(ticket.title.split()),
        "site": ticket.site.name,
        "kind": kind,
        "impact": impact,
        "status": status,
        "level": level,
        "level_name": ladder.names.get(level, ""),
        "groups": [ladder.names[n] for n in sorted(ladder.names) if 1 < n <= level],
        "late_by": _duration(late_by),
        "due_at": f"{ticket.response_due_at:%Y-%m-%d %H:%M}" if ticket.response_due_at else "",
        "when": f"{when:%Y-%m-%d %H:%M}",
        "support_phone": settings.SUPPORT_PHONE,
        "admin_url": admin_url,
        "link": admin_url,
        "ack_hours": settings.ESCALATION_ACK_MAX_AGE_HOURS,
        "requested_by": (
            (requested_by.get_full_name() or requested_by.get_username()) if requested_by else ""
        ),
    }
    return {
        "ticket_id": ticket.pk,
        "event": Notification.Event.ESCALATED,
        "sequence": level,
        "context": context,
        "recipient": recipients,
    }


def escalation_email_render(notification: Notification) -> tuple[str, str, str]:
    """(subject, text, HTML) of an escalation row, with the contact's acknowledgement link."""
    context = dict(
        notification.context,
        ack_url=_row_ack_url(notification),
    )
    subject = " ".join(render_to_string("emails/escalation_subject.txt", context).split())[:300]
    body_text = render_to_string("emails/escalation.txt", context)
    body_html = render_to_string("emails/escalation.html", context)
    return subject, body_text, body_html


def escalation_email_item(notification: Notification) -> dict[str, str]:
    """An escalation's line in a grouped message: its level and acknowledgement link."""
    context = notification.context
    return {
        "what": f"Escalation level {context.get('level')} ({context.get('level_name', '')})",
        "ack_url": _row_ack_url(notification),
    }


def _reach(
    *,
    ticket: Ticket,
    level: int,
    when: datetime,
    automatic: bool,
    actor: Actor | None,
    ladder: _Ladder,
    writes: _Writes,
    history: bool = True,
) -> None:
    """Move the ticket (in memory) to `level` and queue the rows that record and announce it."""
    before = ticket.escalation_level
    emails, notified = ladder.hearing(site_id=ticket.site_id, level=level)
    ticket.escalation_level = level
    ticket.escalated_at = when
    actor = actor if getattr(actor, "pk", None) else None
    writes.records.append(
        {
            "ticket_id": ticket.pk,
            "level": level,
            "from_level": before,
            "reached_at": when,
            "automatic": automatic,
            "actor_id": actor.pk if actor else None,
            "notified": notified,
        }
    )
    if history:
        writes.events.append(
            {
                "ticket_id": ticket.pk,
                "actor_id": None,
                "action": TicketEvent.Action.ESCALATED,
                "changes": {"escalation_level": [before, level]},
                "message": (
                    f"Escalated automatically to level {level} "
                    f"({ladder.names.get(level, '')}): no first response; "
                    f"{len(emails)} contact(s) notified."
                ),
            }
        )
    notification = _notifications(
        ticket=ticket,
        level=level,
        when=when,
        recipients=emails,
        ladder=ladder,
        requested_by=None if automatic else actor,
    )
    if notification is not None:
        writes.notifications.append(notification)
    writes.reached.append((ticket, level, automatic, actor))


def _next_window(
    *, ticket: Ticket, ladder: _Ladder, scheduled: datetime, now: datetime
) -> datetime | None:
    """When the next level is due: one committed window after the step that was scheduled,
    or after now when the scan fell so far behind that this moment has passed too. None when
    the ticket is at its maximum or has no policy to count a window from."""
    policy = ladder.policy(ticket)
    if policy is None or ticket.escalation_level >= ladder.max_level(ticket):
        return None
    following = deadline(
        start=scheduled, minutes=policy.first_response_minutes, calendar=policy.calendar
    )
    if following <= now:
        following = deadline(
            start=now, minutes=policy.first_response_minutes, calendar=policy.calendar
        )
    return following
