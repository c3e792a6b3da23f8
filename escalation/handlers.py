"""Handlers for the SLA engine's signals, connected in `EscalationConfig.ready()`."""

from tickets.models import Ticket

from .services import (
    escalation_import_schedule,
    escalation_resume,
    escalation_start,
    escalation_stop,
    escalation_stop_many,
)


def on_responses_breached(
    sender, *, tickets: list[Ticket], columns: list[str] | None = None, **kwargs
) -> None:
    escalation_start(tickets=tickets, columns=columns)


def on_first_response_recorded(sender, *, ticket: Ticket, **kwargs) -> None:
    escalation_stop(ticket=ticket)


def on_first_responses_recorded(sender, *, tickets: list[Ticket], **kwargs) -> None:
    escalation_stop_many(tickets=tickets)


def on_impact_or_status_changed(sender, *, ticket: Ticket, **kwargs) -> None:
    escalation_resume(ticket=ticket)


def on_imported_breaches_owed(sender, *, tickets: list[Ticket], owed: list[Ticket], now, **kwargs):
    escalation_import_schedule(tickets=tickets, owed=owed, now=now)
