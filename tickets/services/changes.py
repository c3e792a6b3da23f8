"""Staff and client changes to a ticket: status, impact, assignee, several at once."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from .. import notify, signals
from ..actors import Actor
from ..errors import Conflict, DomainError, NotAllowed
from ..models import (
    Status,
    Ticket,
    TicketEvent,
)
from ..selectors import is_staff
from .common import _lock, _record, _require_member_can_write, _validate_kind_impact

User = get_user_model()


# Who may move a ticket from one status to another. Staff may make any of these moves;
# site contacts (pm, it) only mark resolved and reopen.
TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.IN_PROGRESS, Status.WAITING_ON_CLIENT, Status.RESOLVED, Status.CLOSED},
    Status.IN_PROGRESS: {Status.WAITING_ON_CLIENT, Status.RESOLVED, Status.CLOSED},
    Status.WAITING_ON_CLIENT: {Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED},
    Status.RESOLVED: {Status.IN_PROGRESS, Status.CLOSED},
    Status.CLOSED: {Status.IN_PROGRESS},
}


CLIENT_TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.RESOLVED},
    Status.IN_PROGRESS: {Status.RESOLVED},
    Status.WAITING_ON_CLIENT: {Status.RESOLVED},
    Status.RESOLVED: {Status.IN_PROGRESS},
}


def _status_set(*, ticket: Ticket, actor: Actor, status: str, message: str = "") -> None:
    before = ticket.status
    now = timezone.now()
    ticket.status = status
    fields = ["status", "updated_at"]
    if status == Status.RESOLVED:
        ticket.resolved_at = now
        fields.append("resolved_at")
    elif status == Status.CLOSED:
        ticket.closed_at = now
        fields.append("closed_at")
    elif before in (Status.RESOLVED, Status.CLOSED):
        ticket.resolved_at = None
        ticket.closed_at = None
        fields += ["resolved_at", "closed_at"]
    ticket.save(update_fields=fields)
    change = _record(
        ticket=ticket,
        actor=actor,
        action=TicketEvent.Action.STATUS_CHANGED,
        changes={"status": [before, status]},
        message=message,
    )
    if before in (Status.RESOLVED, Status.CLOSED) and ticket.major_incident_id:
        # Major incidents build on these services: they leave the incident through a signal.
        signals.ticket_reopened.send(sender=Ticket, ticket=ticket, actor=actor)
    signals.status_changed.send(
        sender=Ticket, ticket=ticket, actor=actor, before=before, after=status, change=change
    )
    notify.status_notify(ticket=ticket, change=change)


@transaction.atomic
def ticket_status_change(*, ticket: Ticket, actor: Actor, status: str, message: str = "") -> Ticket:
    """Move a ticket to another status. Staff may make any listed move; a site's pm and it
    members may mark it resolved and reopen it."""
    ticket = _lock(ticket)
    if status not in Status.values:
        raise DomainError(f"Choose one of: {', '.join(Status.values)}.", field="status")
    if status == ticket.status:
        return ticket
    if is_staff(actor):
        allowed = TRANSITIONS.get(ticket.status, set())
    else:
        _require_member_can_write(user=actor, site=ticket.site)
        if status not in set().union(*CLIENT_TRANSITIONS.values()):
            raise NotAllowed(
                "Site contacts may mark a ticket resolved or reopen it; Rx.Health staff "
                "make the other changes.",
                field="status",
            )
        allowed = CLIENT_TRANSITIONS.get(ticket.status, set())
    if status not in allowed:
        raise Conflict(
            f"A ticket that is {ticket.get_status_display().lower()} cannot be moved to "
            f"{Status(status).label.lower()}.",
            field="status",
        )
    _status_set(ticket=ticket, actor=actor, status=status, message=message)
    return ticket


@transaction.atomic
def ticket_impact_change(*, ticket: Ticket, actor: Actor, impact: str) -> Ticket:
    """Change an incident's impact (staff only); the SLA re-targets its clocks."""
    ticket = _lock(ticket)
    if not is_staff(actor):
        raise NotAllowed("Only Rx.Health staff change the impact.", field="impact")
    _, impact = _validate_kind_impact(ticket.kind, impact)
    if impact == ticket.impact:
        return ticket
    before = ticket.impact
    ticket.impact = impact
    ticket.save(update_fields=["impact", "updated_at"])
    _record(
        ticket=ticket,
        actor=actor,
        action=TicketEvent.Action.IMPACT_CHANGED,
        changes={"impact": [before, impact]},
    )
    signals.impact_changed.send(
        sender=Ticket, ticket=ticket, actor=actor, before=before, after=impact
    )
    return ticket


def _require_assigner(actor: Actor) -> None:
    if not is_staff(actor):
        raise NotAllowed("Only Rx.Health staff assign tickets.", field="assignee")


def _assignee_by_username(*, actor: Actor, username: str | None) -> Actor | None:
    """The active staff member named `username` (None unassigns). Asks about the actor first,
    so a caller who may not assign learns nothing about which staff names exist."""
    _require_assigner(actor)
    if username is None:
        return None
    assignee = User.objects.filter(username=username, is_staff=True, is_active=True).first()
    if assignee is None:
        raise DomainError("No active Rx.Health staff member has this name.", field="assignee")
    return assignee


@transaction.atomic
def ticket_assign(*, ticket: Ticket, actor: Actor, assignee: Actor | None) -> Ticket:
    """Assign the ticket to an active staff member, or unassign it with None (staff only)."""
    ticket = _lock(ticket)
    _require_assigner(actor)
    if assignee is not None and not is_staff(assignee):
        raise DomainError("Tickets can only be assigned to active staff.", field="assignee")
    before_id = ticket.assignee_id
    after_id = assignee.pk if assignee is not None else None
    if before_id == after_id:
        return ticket
    before_name = str(ticket.assignee) if ticket.assignee else None
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    _record(
        ticket=ticket,
        actor=actor,
        action=TicketEvent.Action.ASSIGNED,
        changes={"assignee": [before_name, str(assignee) if assignee else None]},
    )
    signals.assignee_changed.send(
        sender=Ticket, ticket=ticket, actor=actor, before=before_id, after=after_id
    )
    return ticket


_UNSET: Any = object()


@transaction.atomic
def ticket_update(
    *,
    ticket: Ticket,
    actor: Actor,
    status: str = _UNSET,
    impact: str = _UNSET,
    assignee: Actor | None = _UNSET,
    assignee_username: str | None = _UNSET,
) -> Ticket:
    """Apply several staff changes at once (admin's form, the API's PATCH), each through its
    own service so each is checked and kept in the history. `assignee_username` names the
    assignee (the API's way), checked before anything changes."""
    if assignee_username is not _UNSET:
        assignee = _assignee_by_username(actor=actor, username=assignee_username)
    if impact is not _UNSET:
        ticket = ticket_impact_change(ticket=ticket, actor=actor, impact=impact)
    if assignee is not _UNSET:
        ticket = ticket_assign(ticket=ticket, actor=actor, assignee=assignee)
    if status is not _UNSET:
        ticket = ticket_status_change(ticket=ticket, actor=actor, status=status)
    return ticket
