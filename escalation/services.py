"""Writes of the escalation ladder: start it when a first response breaches, climb one level
per committed window (the scan step), stop it at a response, let a site contact escalate,
and record acknowledgements.

Only this module writes a ticket's escalation columns (escalation_level, escalated_at,
escalation_next_at); its batch machinery (what a batch loads, the rows it writes, the emails)
is in `ladder.py`.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from sla.clocks import deadline
from sla.selectors import policy_for
from tickets.actors import Actor
from tickets.bulk import rows_update
from tickets.errors import Conflict
from tickets.models import Status, Ticket, TicketEvent
from tickets.services import ticket_history_record

from .ladder import (  # noqa: F401 (apps.py registers the email renderers from here)
    _Ladder,
    _next_window,
    _reach,
    _Writes,
    escalation_email_item,
    escalation_email_render,
)
from .models import EscalationAcknowledgement
from .selectors import (
    FIRST_NOTIFIED_LEVEL,
    ack_target,
    escalation_request_refusal,
    max_level_for,
    maximum_levels,
    policies_by_kind,
)

# Tickets claimed per transaction by the scan step; the step loops until none are due.
STEP_BATCH_SIZE = 200
ESCALATION_COLUMNS = ["escalation_level", "escalated_at", "escalation_next_at"]


@transaction.atomic
def escalation_start(*, tickets: list[Ticket], columns: list[str] | None = None) -> list[Ticket]:
    """Their first responses breached: move each locked ticket to level 2 (within its
    maximum), notify, and schedule the next level one committed window after the breach.
    A batch costs the same number of queries whatever its size. Given `columns`, the caller
    writes these tickets anyway (the scan): the escalation columns are named there for its
    one statement instead of written here."""
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
    if columns is None:
        rows_update(objs=tickets, fields=ESCALATION_COLUMNS)
    else:
        columns += ESCALATION_COLUMNS
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
