"""What the escalation ladder tells others (webhooks)."""

from django.dispatch import Signal

# kwargs: ticket, level (the level reached), automatic (bool), actor (user or None).
# Sent inside the transaction that records the escalation.
ticket_escalated = Signal()
