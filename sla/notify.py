"""The SLA's part of the ticket emails: its own events (the warnings to staff, the automated
client updates) and the words of a ticket's commitment. Everything generic (recipients, the
context an email may carry, rendering, the outbox) is `tickets.notify`; `sla.apps` calls
`emails_register` when the app loads."""

from tickets import notify
from tickets.models import Ticket

from .models import SLAPolicy
from .selectors import policy_commitment, policy_for

Event = notify.Event

SUBJECTS = {
    Event.CLIENT_UPDATE: "[{reference}] Status update #{update_number}: {title}",
    Event.UPDATE_DUE_SOON: "[{reference}] Client update due {next_update_due}: {title}",
    Event.RESPONSE_AT_RISK: "[{reference}] First response at risk, due {response_due}: {title}",
    Event.RESPONSE_BREACHED: "[{reference}] First response missed (due {response_due}): {title}",
}
STAFF_EVENTS = frozenset({Event.UPDATE_DUE_SOON, Event.RESPONSE_AT_RISK, Event.RESPONSE_BREACHED})


def ticket_commitment(ticket: Ticket, policy: SLAPolicy | None = None) -> str:
    """The commitment the ticket's policy makes, in words ("first response within 1 hour...");
    "" when no policy governs it. Pass the policy when you hold it (the scan does)."""
    if policy is None:
        policy = policy_for(kind=ticket.kind, impact=ticket.impact)
    return policy_commitment(policy) if policy is not None else ""


def emails_register() -> None:
    """Declare the SLA's emails and the commitment wording to `tickets.notify`."""
    for event, subject in SUBJECTS.items():
        notify.email_register(event, subject=subject, staff=event in STAFF_EVENTS)
    notify.commitment_source_register(ticket_commitment)
