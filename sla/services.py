"""Writes of the SLA engine: the clock columns on a ticket.

These run inside the ticket services' transactions (through `tickets.signals`, connected in
`sla.apps`), on the ticket row those services locked, so a clock change commits or rolls back
with the change that caused it. The scan (`sla.scan`) moves clocks forward in time; everything
here moves them when something happens to the ticket.

Rules (the README states them for users):
- A policy's first-response target counts elapsed time, or only its calendar's working time.
  Client updates (incidents) always count elapsed time.
- `waiting_on_client` stops every clock; on resume each due time moves by the paused time
  (working time for a calendar clock). Resolved and closed tickets stop the clocks the same
  way; reopening resumes them.
- An impact change or a policy edit re-applies the current policy from when the ticket was
  filed (minus paused time); a target that would then lie in the past falls due at the moment
  of the change, never backdated into a breach. A recorded response or breach stays recorded.
"""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils import timezone

from tickets.broker import task_enqueue
from tickets.errors import DomainError
from tickets.models import OPEN_STATUSES, Comment, Kind, Ticket, TicketEvent
from tickets.services import ticket_history_record

from .clocks import deadline_seconds, working_seconds
from .columns import ticket_columns_write
from .models import BusinessCalendar, SLAPolicy
from .policy_runs import policy_run_record
from .selectors import policies_for, policy_for
from .signals import first_response_recorded, first_responses_recorded
from .states import (
    RUNNING,
    _working,
    sla_next_check_compute,
    sla_state_compute,
    update_warn_for,
)

CLOCK_FIELDS = [
    "sla_state",
    "response_due_at",
    "response_warn_at",
    "responded_at",
    "response_breached_at",
    "response_warned_at",
    "response_paused_seconds",
    "last_client_update_at",
    "next_update_due_at",
    "update_warn_at",
    "update_cycle",
    "update_paused_seconds",
    "client_update_count",
    "estimated_resolution_at",
    "paused_at",
    "paused_seconds",
    "sla_next_check_at",
]

# What a public staff reply changes (the batch writes only these).
REPLY_FIELDS = [
    "responded_at",
    "estimated_resolution_at",
    "last_client_update_at",
    "update_cycle",
    "update_paused_seconds",
    "next_update_due_at",
    "update_warn_at",
    "sla_state",
    "sla_next_check_at",
]

if TYPE_CHECKING:
    from tickets.jira.plan import TicketImport


def _targets_apply(ticket: Ticket, *, policy: SLAPolicy | None, now: datetime, clamp: bool) -> None:
    """Set the due times from the policy, counted from filing minus paused time. With `clamp`,
    a target that would lie in the past falls due now (or when the clock stopped)."""
    floor = ticket.paused_at or now
    if ticket.responded_at is None and ticket.response_breached_at is None:
        if policy is None:
            ticket.response_due_at = ticket.response_warn_at = None
        else:
            working = _working(policy)
            target = policy.first_response_minutes * 60
            paused = ticket.response_paused_seconds
            due = deadline_seconds(
                start=ticket.created_at, seconds=target + paused, calendar=working
            )
            warn = deadline_seconds(
                start=ticket.created_at,
                seconds=target * policy.at_risk_percent / 100 + paused,
                calendar=working,
            )
            if clamp:
                due = max(due, floor)
            ticket.response_due_at = due
            ticket.response_warn_at = min(warn, due)
    if ticket.kind == Kind.INCIDENT and ticket.status in OPEN_STATUSES:
        every = policy.update_every_minutes if policy else None
        if every:
            base = ticket.last_client_update_at or ticket.created_at
            due = base + timedelta(minutes=every, seconds=ticket.update_paused_seconds)
            if clamp:
                due = max(due, floor)
            warned = ticket.update_cycle > 0 and ticket.update_warn_at is None
            ticket.next_update_due_at = due
            ticket.update_warn_at = (
                None
                if warned
                else update_warn_for(policy=policy, next_update_due_at=due, start=base)
            )
            ticket.update_cycle = ticket.update_cycle or 1
        else:
            ticket.next_update_due_at = ticket.update_warn_at = None


def _finish(ticket: Ticket, *, now: datetime) -> None:
    ticket.sla_state = sla_state_compute(ticket, now=now)
    ticket.sla_next_check_at = sla_next_check_compute(ticket)
    ticket.save(update_fields=CLOCK_FIELDS)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _record_retarget(ticket: Ticket, before: dict[str, Any], *, message: str) -> None:
    changes = {
        field: [_iso(before[field]), _iso(getattr(ticket, field))]
        for field in ("response_due_at", "next_update_due_at")
        if before[field] != getattr(ticket, field)
    }
    if changes:
        ticket_history_record(
            ticket=ticket,
            actor=None,
            action=TicketEvent.Action.SLA,
            changes=changes,
            message=message,
        )


def sla_clocks_start(*, ticket: Ticket) -> Ticket:
    """Set a new ticket's clocks from its policy (the ticket services then send the receipt,
    which states them)."""
    now = ticket.created_at or timezone.now()
    policy = policy_for(kind=ticket.kind, impact=ticket.impact)
    ticket.last_client_update_at = None
    _targets_apply(ticket, policy=policy, now=now, clamp=False)
    _finish(ticket, now=now)
    policy_run_record(ticket=ticket, policy=policy, since=now, reason="Clocks started.")
    return ticket


def sla_reply_check(*, ticket: Ticket, comment: Comment) -> None:
    """Refuse a first public staff reply without an estimated resolution time where the policy
    asks for one (routine tasks and change requests), and estimates in the past."""
    estimate = comment.estimated_resolution_at
    if estimate is not None and estimate <= timezone.now():
        raise DomainError(
            "The estimated resolution time must be in the future.",
            field="estimated_resolution_at",
        )
    if not (comment.public and comment.by_staff) or ticket.responded_at is not None:
        return
    policy = policy_for(kind=ticket.kind, impact=ticket.impact)
    if policy is not None and policy.requires_estimate and estimate is None:
        raise DomainError(
            f"The first response to a {ticket.get_kind_display().lower()} must carry an "
            "estimated resolution time.",
            field="estimated_resolution_at",
            code="estimate_required",
        )


def _reply_clocks_apply(
    ticket: Ticket, *, now: datetime, policy: SLAPolicy | None, estimate: datetime | None
) -> bool:
    """What a public staff reply does to a ticket's clocks (in memory; the caller saves):
    the first one meets the first response; on an incident every one restarts the
    client-update cadence. Returns whether it was the first response."""
    first = ticket.responded_at is None
    if first:
        ticket.responded_at = now
    if estimate is not None:
        ticket.estimated_resolution_at = estimate
    ticket.last_client_update_at = now
    if ticket.kind == Kind.INCIDENT and policy is not None and policy.update_every_minutes:
        # A new cycle; while paused, `_resume` moves it by the paused time after this reply.
        ticket.update_cycle += 1
        ticket.update_paused_seconds = 0
        ticket.next_update_due_at = now + timedelta(minutes=policy.update_every_minutes)
        ticket.update_warn_at = update_warn_for(
            policy=policy, next_update_due_at=ticket.next_update_due_at, start=now
        )
    ticket.sla_state = sla_state_compute(ticket, now=now)
    ticket.sla_next_check_at = sla_next_check_compute(ticket)
    return first


def sla_reply_record(*, ticket: Ticket, comment: Comment) -> Ticket:
    """A public staff reply: the first one meets the first response; on an incident every one
    restarts the client-update cadence. A client reply or an internal note moves no clock."""
    if not (comment.by_staff and comment.public):
        return ticket
    now = comment.created_at or timezone.now()
    policy = policy_for(kind=ticket.kind, impact=ticket.impact)
    first = _reply_clocks_apply(
        ticket, now=now, policy=policy, estimate=comment.estimated_resolution_at
    )
    _finish(ticket, now=now)
    if first:
        first_response_recorded.send(sender=Ticket, ticket=ticket, responded_at=now)
    return ticket


def sla_replies_record(*, tickets: list[Ticket], comments: list[Comment]) -> list[Ticket]:
    """One public staff reply posted on many locked tickets at once (a major incident's
    update): each ticket's clocks move exactly as for a single reply, in a constant number
    of queries."""
    if not tickets:
        return tickets
    policies = policies_for(pairs={(t.kind, t.impact) for t in tickets})
    responded = []
    for ticket, comment in zip(tickets, comments, strict=True):
        now = comment.created_at or timezone.now()
        policy = policies.get((ticket.kind, ticket.impact or ""))
        if _reply_clocks_apply(ticket, now=now, policy=policy, estimate=None):
            responded.append(ticket)
    ticket_columns_write(tickets=tickets, fields=REPLY_FIELDS)
    if responded:
        first_responses_recorded.send(sender=Ticket, tickets=responded)
    return tickets


def _resume(ticket: Ticket, *, policy: SLAPolicy | None, now: datetime) -> None:
    """Move every running due time by the time the clock stood still."""
    stopped = ticket.paused_at
    if stopped is None:
        return
    elapsed = max(int((now - stopped).total_seconds()), 0)
    ticket.paused_seconds += elapsed
    working = _working(policy)
    if ticket.responded_at is None and ticket.response_breached_at is None:
        ticket.response_paused_seconds += int(
            working_seconds(start=stopped, end=now, calendar=working)
        )
        for field in ("response_due_at", "response_warn_at"):
            moment = getattr(ticket, field)
            if moment is not None and moment > stopped:
                left = working_seconds(start=stopped, end=moment, calendar=working)
                setattr(ticket, field, deadline_seconds(start=now, seconds=left, calendar=working))
    # A public reply during the pause started a new cycle: only the pause after it counts.
    cycle_stopped = max(stopped, ticket.last_client_update_at or stopped)
    update_elapsed = max(int((now - cycle_stopped).total_seconds()), 0)
    ticket.update_paused_seconds += update_elapsed
    for field in ("next_update_due_at", "update_warn_at"):
        moment = getattr(ticket, field)
        if moment is not None and moment > cycle_stopped:
            setattr(ticket, field, moment + timedelta(seconds=update_elapsed))
    ticket.paused_at = None


def sla_status_apply(*, ticket: Ticket, before: str, after: str) -> Ticket:
    """Stop the clocks when a ticket leaves the running statuses (waiting on the client,
    resolved, closed), resume them when it comes back."""
    now = timezone.now()
    if before in RUNNING and after not in RUNNING:
        ticket.paused_at = now
    elif before not in RUNNING and after in RUNNING:
        _resume(ticket, policy=policy_for(kind=ticket.kind, impact=ticket.impact), now=now)
    _finish(ticket, now=now)
    return ticket


def sla_clocks_retarget(
    *,
    ticket: Ticket,
    now: datetime | None = None,
    message: str = "",
    policy: SLAPolicy | None = None,
) -> Ticket:
    """Re-apply the ticket's current policy (after an impact change or a policy or calendar
    edit) and keep the moved due times in the history."""
    now = now or timezone.now()
    if policy is None:
        policy = policy_for(kind=ticket.kind, impact=ticket.impact)
    before = {f: getattr(ticket, f) for f in ("response_due_at", "next_update_due_at")}
    _targets_apply(ticket, policy=policy, now=now, clamp=True)
    _finish(ticket, now=now)
    _record_retarget(ticket, before, message=message or "SLA targets re-applied.")
    policy_run_record(ticket=ticket, policy=policy, since=now, reason=message or "Re-targeted.")
    return ticket


def sla_impact_retarget(*, ticket: Ticket, before: str, after: str) -> Ticket:
    """An incident's impact changed: its clocks follow the new impact's policy."""
    return sla_clocks_retarget(
        ticket=ticket, message=f"Impact {before or 'none'} -> {after}: SLA targets re-applied."
    )


def sla_policy_retarget(*, policy_id: int, batch_size: int = 500) -> int:
    """Re-apply an edited policy to every open ticket it governs, in batches of locked rows;
    returns how many tickets were re-targeted."""
    policy = SLAPolicy.objects.select_related("calendar").filter(pk=policy_id).first()
    if policy is None:
        return 0
    done, last_id = 0, 0
    while True:
        with transaction.atomic():
            batch = list(
                Ticket.objects.select_for_update(of=("self",))
                .filter(
                    kind=policy.kind, impact=policy.impact, status__in=OPEN_STATUSES, pk__gt=last_id
                )
                .order_by("pk")[:batch_size]
            )
            for ticket in batch:
                sla_clocks_retarget(
                    ticket=ticket, policy=policy, message=f"SLA policy edited: {policy}."
                )
        done += len(batch)
        if len(batch) < batch_size:
            return done
        last_id = batch[-1].pk


def sla_policy_changed(*, policy: SLAPolicy) -> None:
    """Call after saving an SLA policy (admin's save_model): open tickets it governs are
    re-targeted by a task once the edit commits."""
    policy_id = policy.pk
    transaction.on_commit(lambda: _retarget_after_commit(policy_id))


def _retarget_after_commit(policy_id: int) -> None:
    if not task_enqueue(name="sla.tasks.sla_policy_retarget", args=(policy_id,)):
        # No sweep redoes a lost re-target: do it now rather than leave tickets on old targets.
        sla_policy_retarget(policy_id=policy_id)


def sla_calendar_changed(*, calendar: BusinessCalendar) -> None:
    """Call after editing a calendar, its periods or holidays: every policy that counts in it
    re-targets its open tickets."""
    for policy in SLAPolicy.objects.filter(calendar=calendar):
        sla_policy_changed(policy=policy)


def sla_clocks_import(*, imports: "list[TicketImport]", now: datetime) -> list[Ticket]:
    """Set imported tickets' clocks in memory (the import writes them): targets count from the
    original filing time; a target missed before the import is recorded as breached when it
    was missed, with no warning or breach notice sent for it; a client-update cadence that ran
    out before the import restarts from the import. Returns the tickets whose first response
    breached and is still owed (escalation climbs for them from the import)."""
    policies = {(p.kind, p.impact): p for p in SLAPolicy.objects.select_related("calendar")}
    owed = []
    for item in imports:
        ticket = item.ticket
        policy = policies.get((ticket.kind, ticket.impact))
        for name in CLOCK_FIELDS:
            field = Ticket._meta.get_field(name)
            if isinstance(field, models.Field):  # every clock field is a column
                setattr(ticket, name, field.get_default())
        ticket.last_client_update_at = item.last_staff_reply_at
        _targets_apply(ticket, policy=policy, now=now, clamp=False)
        ticket.responded_at = item.first_staff_reply_at
        stopped = ticket.resolved_at if ticket.status not in OPEN_STATUSES else None
        # When the clock stopped counting: the reply, the resolution, or (still owed) now.
        end = ticket.responded_at or stopped or now
        if ticket.response_due_at is not None and ticket.response_due_at < end:
            ticket.response_breached_at = ticket.response_due_at
            ticket.response_warned_at = ticket.response_warn_at
        if ticket.status not in RUNNING:
            ticket.paused_at = stopped or now
        if ticket.next_update_due_at is not None and ticket.next_update_due_at <= now:
            every = (policy.update_every_minutes or 0) if policy else 0
            ticket.next_update_due_at = now + timedelta(minutes=every)
            ticket.update_warn_at = update_warn_for(
                policy=policy, next_update_due_at=ticket.next_update_due_at, start=now
            )
        ticket.sla_state = sla_state_compute(ticket, now=now)
        ticket.sla_next_check_at = sla_next_check_compute(ticket)
        if ticket.response_breached_at and ticket.responded_at is None and ticket.is_open:
            owed.append(ticket)
    return owed
