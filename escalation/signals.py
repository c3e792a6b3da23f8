"""What the escalation ladder tells others (webhooks)."""

from typing import Any, NamedTuple

from django.dispatch import Signal


class Escalation(NamedTuple):
    ticket: Any
    level: int
    automatic: bool
    actor: Any


# kwargs: escalations (a list of `Escalation`, one per level a ticket reached). Sent once per
# batch, inside the transaction that records them, so handlers can keep their queries per batch.
tickets_escalated = Signal()
