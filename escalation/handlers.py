"""Handlers for the SLA engine's signals, connected in `EscalationConfig.ready()`."""

from datetime import datetime

from tickets.models import Ticket

from .services import escalation_resume, escalation_start, escalation_stop


def on_response_breached(sender, *, ticket: Ticket, breached_at: datetime, **kwargs) -> None:
    escalation_start(ticket=ticket, breached_at=breached_at)


def on_first_response_recorded(sender, *, ticket: Ticket, **kwargs) -> None:
    escalation_stop(ticket=ticket)


def on_impact_or_status_changed(sender, *, ticket: Ticket, **kwargs) -> None:
    escalation_resume(ticket=ticket)
