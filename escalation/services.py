"""Writes of the escalation ladder: start it when a first response breaches, climb one level
per committed window (the scan step), stop it at a response, let a site contact escalate,
and record acknowledgements.

Only this module writes a ticket's escalation columns (escalation_level, escalated_at,
escalation_next_at).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from sla.clocks import deadline
from sla.models import SLAPolicy
from sla.notify import backoffice_url, ticket_labels
from sla.selectors import policy_for
from tickets.actors import Actor
from tickets.bulk import rows_insert, rows_update
from tickets.errors import Conflict
from tickets.models import Notification, Status, Ticket, TicketEvent
from tickets.outbox import notifications_enqueue_rows
from tickets.services import ticket_history_record

from .models import EscalationAcknowledgement, EscalationContact, EscalationRecord
from .selectors import (
    FIRST_NOTIFIED_LEVEL,
    ack_target,
    ack_token_make,
    contacts_for_sites,
    escalation_request_refusal,
    level_names,
    max_level_for,
    maximum_levels,
    policies_by_kind,
    recipients_for,
)
from .signals import Escalation, tickets_escalated

# Tickets claimed per transaction by the scan step; the step loops until none are due.
STEP_BATCH_SIZE = 200
ESCALATION_COLUMNS = ["escalation_level", "escalated_at", "escalation_next_at"]


@dataclass
class _Ladder:
    """What escalating a batch of tickets needs, loaded in a fixed number of queries."""

    maximums: dict[tuple[str, str], int]
    policies: dict[tuple[str, str], SLAPolicy]
    contacts: list[EscalationContact]
    names: dict[int, str]

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


@dataclass
class _Writes:
    """Rows to insert for a batch of escalations, each kind in one query."""

    records: list[EscalationRecord] = field(default_factory=list)
    events: list[TicketEvent] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    reached: list[tuple[Ticket, int, bool, Actor | None]] = field(default_factory=list)

    def save(self) -> None:
        rows_insert(objs=self.records, ignore_conflicts=True)
        if self.events:
            rows_insert(objs=self.events)
        if self.notifications:
            notifications_enqueue_rows(rows=self.notifications)
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


def _ack_url(*, ticket_id: int | None, level: int, email: str) -> str:
    if ticket_id is None:
        raise ValueError("An escalation email always concerns a ticket.")
    token = ack_token_make(ticket_id=ticket_id, level=level, email=email)
    return f"{settings.PORTAL_BASE_URL}{reverse('escalation-ack', args=[token])}"


def _notifications(
    *,
    ticket: Ticket,
    level: int,
    when: datetime,
    recipients: list[EscalationContact],
    ladder: _Ladder,
    requested_by: Actor | None = None,
) -> list[Notification]:
    """One email per recipient, from one context per ticket and level; delivery renders it
    (`escalation_email_render`) with each contact's own acknowledgement link."""
    if not recipients:
        return []
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
    return [
        Notification(
            ticket=ticket,
            event=Notification.Event.ESCALATED,
            sequence=level,
            channel=Notification.Channel.EMAIL,
            recipient=contact.email,
            context=context,
        )
        for contact in recipients
    ]


def escalation_email_render(notification: Notification) -> tuple[str, str, str]:
    """(subject, text, HTML) of an escalation row, with the contact's acknowledgement link."""
    context = dict(
        notification.context,
        ack_url=_ack_url(
            ticket_id=notification.ticket_id,
            level=notification.sequence,
            email=notification.recipient,
        ),
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
        "ack_url": _ack_url(
            ticket_id=notification.ticket_id,
            level=notification.sequence,
            email=notification.recipient,
        ),
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
    recipients = recipients_for(contacts=ladder.contacts, site_id=ticket.site_id, level=level)
    ticket.escalation_level = level
    ticket.escalated_at = when
    actor = actor if getattr(actor, "pk", None) else None
    writes.records.append(
        EscalationRecord(
            ticket=ticket,
            level=level,
            from_level=before,
            reached_at=when,
            automatic=automatic,
            actor=actor,
            notified=[
                {"name": c.name, "role": c.role, "email": c.email, "level": c.level.number}
                for c in recipients
            ],
        )
    )
    if history:
        writes.events.append(
            TicketEvent(
                ticket=ticket,
                actor=None,
                action=TicketEvent.Action.ESCALATED,
                changes={"escalation_level": [before, level]},
                message=(
                    f"Escalated automatically to level {level} "
                    f"({ladder.names.get(level, '')}): no first response; "
                    f"{len(recipients)} contact(s) notified."
                ),
            )
        )
    writes.notifications += _notifications(
        ticket=ticket,
        level=level,
        when=when,
        recipients=recipients,
        ladder=ladder,
        requested_by=None if automatic else actor,
    )
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


@transaction.atomic
def escalation_start(*, tickets: list[Ticket]) -> list[Ticket]:
    """Their first responses breached: move each locked ticket to level 2 (within its
    maximum), notify, and schedule the next level one committed window after the breach.
    A batch costs the same number of queries whatever its size."""
    if not tickets:
        return tickets
    ladder = _Ladder.load(site_ids={t.site_id for t in tickets})
    writes = _Writes()
    now = timezone.now()
    for ticket in tickets:
        breached_at = ticket.response_breached_at or now
        when = max(breached_at, now)
        if ticket.escalation_level < FIRST_NOTIFIED_LEVEL <= ladder.max_level(ticket):
            _reach(
                ticket=ticket,
                level=FIRST_NOTIFIED_LEVEL,
                when=when,
                automatic=True,
                actor=None,
                ladder=ladder,
                writes=writes,
            )
        if ticket.responded_at is None and ticket.is_open:
            ticket.escalation_next_at = _next_window(
                ticket=ticket, ladder=ladder, scheduled=breached_at, now=when
            )
        else:
            ticket.escalation_next_at = None
    rows_update(objs=tickets, fields=ESCALATION_COLUMNS)
    writes.save()
    return tickets


@transaction.atomic
def escalation_stop(*, ticket: Ticket) -> Ticket:
    """A first response landed: no further automatic levels for this ticket."""
    escalation_stop_many(tickets=[ticket])
    return ticket


def escalation_stop_many(*, tickets: list[Ticket]) -> int:
    """First responses landed on these locked tickets (a broadcast reply): stop their climb
    in one statement. Returns how many were climbing."""
    climbing = [t for t in tickets if t.escalation_next_at is not None]
    for ticket in climbing:
        ticket.escalation_next_at = None
    if climbing:
        Ticket.objects.filter(pk__in=[t.pk for t in climbing]).update(escalation_next_at=None)
    return len(climbing)


@transaction.atomic
def escalation_resume(*, ticket: Ticket, now: datetime | None = None) -> Ticket:
    """After an impact change or a reopening of a locked ticket whose first response breached
    and is still missing: schedule the next level a window from now if it may climb higher
    (a raised impact, a reopened ticket), or stop the climb if it may not."""
    if ticket.response_breached_at is None:
        return ticket
    now = now or timezone.now()
    before = ticket.escalation_next_at
    policy = policy_for(kind=ticket.kind, impact=ticket.impact)
    if (
        ticket.responded_at is not None
        or not ticket.is_open
        or policy is None
        or ticket.escalation_level >= max_level_for(ticket=ticket)
    ):
        ticket.escalation_next_at = None
    elif ticket.escalation_next_at is None:
        ticket.escalation_next_at = deadline(
            start=now, minutes=policy.first_response_minutes, calendar=policy.calendar
        )
    if ticket.escalation_next_at != before:
        ticket.save(update_fields=["escalation_next_at"])
    return ticket


def escalation_step(now: datetime) -> int:
    """The scan step: move every ticket whose next escalation is due up one level (within its
    maximum), notify, and schedule the next; returns how many levels were reached.

    Tickets are claimed in batches with skip_locked, so overlapping scans share the work; a
    batch costs the same number of queries whatever its size."""
    reached = 0
    while True:
        count, claimed = _step_batch(now=now, limit=STEP_BATCH_SIZE)
        reached += count
        if claimed < STEP_BATCH_SIZE:
            return reached


@transaction.atomic
def _step_batch(*, now: datetime, limit: int) -> tuple[int, int]:
    tickets = list(
        Ticket.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("site", "reporter", "assignee")
        .filter(escalation_next_at__lte=now)
        .order_by("escalation_next_at", "pk")[:limit]
    )
    if not tickets:
        return 0, 0
    ladder = _Ladder.load(site_ids={t.site_id for t in tickets})
    writes = _Writes()
    for ticket in tickets:
        scheduled = ticket.escalation_next_at
        if ticket.responded_at is not None or not ticket.is_open:
            ticket.escalation_next_at = None
        elif ticket.status == Status.WAITING_ON_CLIENT:
            # The clocks are paused while the client owes an answer: look again a window later.
            ticket.escalation_next_at = _next_window(
                ticket=ticket, ladder=ladder, scheduled=now, now=now
            )
        elif ticket.escalation_level >= ladder.max_level(ticket):
            ticket.escalation_next_at = None
        else:
            _reach(
                ticket=ticket,
                level=ticket.escalation_level + 1,
                when=now,
                automatic=True,
                actor=None,
                ladder=ladder,
                writes=writes,
            )
            ticket.escalation_next_at = _next_window(
                ticket=ticket, ladder=ladder, scheduled=scheduled or now, now=now
            )
    rows_update(objs=tickets, fields=ESCALATION_COLUMNS)
    writes.save()
    return len(writes.reached), len(tickets)


@transaction.atomic
def escalation_request(*, ticket: Ticket, actor: Actor) -> Ticket:
    """A site's pm or it member (or staff) escalates a ticket whose committed first-response
    time has passed with no response: up one level now, within the maximum, notifying the
    contacts as an automatic step would."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("site").get(pk=ticket.pk)
    now = timezone.now()
    ladder = _Ladder.load(site_ids={ticket.site_id})
    refusal = escalation_request_refusal(
        ticket=ticket, actor=actor, now=now, max_level=ladder.max_level(ticket)
    )
    if refusal is not None:
        raise refusal
    before = ticket.escalation_level
    writes = _Writes()
    _reach(
        ticket=ticket,
        level=before + 1,
        when=now,
        automatic=False,
        actor=actor,
        ladder=ladder,
        writes=writes,
        history=False,
    )
    if ticket.escalation_level >= ladder.max_level(ticket):
        ticket.escalation_next_at = None
    elif ticket.escalation_next_at is None and ticket.response_breached_at is not None:
        ticket.escalation_next_at = _next_window(
            ticket=ticket, ladder=ladder, scheduled=now, now=now
        )
    ticket.save(update_fields=ESCALATION_COLUMNS)
    name = actor.get_full_name() or actor.get_username()
    ticket_history_record(
        ticket=ticket,
        actor=actor,
        action=TicketEvent.Action.ESCALATED,
        changes={"escalation_level": [before, ticket.escalation_level]},
        message=(
            f"{name} escalated the ticket to level {ticket.escalation_level} "
            f"({ladder.names.get(ticket.escalation_level, '')}): no response within the "
            "committed time."
        ),
    )
    writes.save()
    return ticket


def escalation_acknowledge(*, token: str, user_agent: str = "") -> EscalationAcknowledgement:
    """Record that the contact named by a signed link saw the escalation. Each link works
    once; it never counts as a response to the client."""
    target = ack_target(token=token)
    if target.acknowledgement is not None:
        raise Conflict(
            f"This escalation was already acknowledged on "
            f"{target.acknowledgement.acknowledged_at:%Y-%m-%d %H:%M} UTC.",
            code="already_acknowledged",
        )
    try:
        with transaction.atomic():
            return EscalationAcknowledgement.objects.create(
                record=target.record,
                contact=target.contact,
                email=target.email,
                acknowledged_at=timezone.now(),
                user_agent=(user_agent or "")[:300],
            )
    except IntegrityError:  # the same link pressed twice at once
        raise Conflict(
            "This escalation was already acknowledged.", code="already_acknowledged"
        ) from None


def escalation_import_schedule(*, tickets: list[Ticket], owed: list[Ticket], now: datetime) -> None:
    """Imported tickets (in memory; the import writes them): those whose first response was
    missed before the import and is still owed start climbing one committed window after the
    import, not retroactively, and no contact hears of the past; the others do not climb."""
    maximums, policies = maximum_levels(), policies_by_kind()
    owed_ids = {id(t) for t in owed}
    for ticket in tickets:
        policy = policies.get((ticket.kind, ticket.impact or ""))
        if (
            id(ticket) not in owed_ids
            or policy is None
            or ticket.escalation_level >= max_level_for(ticket=ticket, maximums=maximums)
        ):
            ticket.escalation_next_at = None
        elif ticket.escalation_next_at is None:
            ticket.escalation_next_at = deadline(
                start=now, minutes=policy.first_response_minutes, calendar=policy.calendar
            )
