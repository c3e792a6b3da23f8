"""What a ticket's clock columns say now: the state a person sees, when the scan must look
again, and when to warn of a client update due soon. They read the ticket and write nothing."""

from datetime import datetime, timedelta

from tickets.models import Kind, SLAState, Status, Ticket

from .clocks import WorkingTime
from .models import SLAPolicy

RUNNING = (Status.NEW, Status.IN_PROGRESS)


def _working(policy: SLAPolicy | None) -> WorkingTime | None:
    if policy is None or policy.calendar is None:
        return None
    working = WorkingTime.of(policy.calendar)
    return working if working.periods else None


def sla_state_compute(ticket: Ticket, *, now: datetime) -> str:
    """The state a person sees: paused, breached, met, at risk or on track."""
    if ticket.status == Status.WAITING_ON_CLIENT:
        return SLAState.PAUSED
    if ticket.response_breached_at is not None:
        return SLAState.BREACHED
    if ticket.responded_at is not None:
        return SLAState.MET
    if ticket.status not in RUNNING:
        # Resolved or closed before any response: the clock stopped, nothing is owed.
        return SLAState.PAUSED
    if ticket.response_warn_at is not None and now >= ticket.response_warn_at:
        return SLAState.AT_RISK
    return SLAState.ON_TRACK


def sla_next_check_compute(ticket: Ticket) -> datetime | None:
    """The earliest moment the scan has something to do for this ticket, or None."""
    if ticket.status not in RUNNING:
        return None
    moments = []
    if ticket.responded_at is None and ticket.response_breached_at is None:
        if ticket.response_warned_at is None and ticket.response_warn_at is not None:
            moments.append(ticket.response_warn_at)
        if ticket.response_due_at is not None:
            moments.append(ticket.response_due_at)
    if ticket.kind == Kind.INCIDENT:
        if ticket.update_warn_at is not None:
            moments.append(ticket.update_warn_at)
        if ticket.next_update_due_at is not None:
            moments.append(ticket.next_update_due_at)
    return min(moments, default=None)


def update_warn_for(
    *, policy: SLAPolicy | None, next_update_due_at: datetime | None, start: datetime
) -> datetime | None:
    """When to warn the assignee that a client update is due soon (None: no warning)."""
    if policy is None or next_update_due_at is None or not policy.update_warning_minutes:
        return None
    warn_at = next_update_due_at - timedelta(minutes=policy.update_warning_minutes)
    return warn_at if warn_at > start else None
