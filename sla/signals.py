"""What the SLA engine tells the apps above it (`escalation`). Sent inside the transaction that
records the event, so a handler's writes commit or roll back with it."""

from django.dispatch import Signal

# kwargs: ticket (locked), breached_at. Sent once per ticket, when the scan records that the
# first response was missed.
response_breached = Signal()
# kwargs: ticket (locked), responded_at. Sent when the first public staff reply lands.
first_response_recorded = Signal()
