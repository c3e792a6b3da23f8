"""What the escalation ladder tells others (webhooks)."""

from typing import NamedTuple

from django.dispatch import Signal

from tickets.actors import Actor
from tickets.models import Ticket


class Escalation(NamedTuple):
    ticket: Ticket
    level: int
    automatic: bool
    actor: Actor | None


# kwargs: escalations (a list of `Escalation`, one per level a ticket reached). Sent once per
# batch, inside the transaction that records them, so handlers can keep their queries per batch.
tickets_escalated = Signal()
