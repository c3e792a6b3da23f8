"""What the SLA engine tells the apps above it (`escalation`). Sent inside the transaction that
records the event, so a handler's writes commit or roll back with it."""

from django.dispatch import Signal

# kwargs: tickets (a list of locked tickets, each with `response_breached_at` set). Sent once
# per scan batch for the tickets whose first response the batch recorded as missed; each
# ticket is in it once in its life. A batch, so handlers can keep their queries per batch.
# Also columns (a list): the scan writes the batch's tickets after the handlers, with one
# statement; a handler that changes ticket columns in memory names them here.
responses_breached = Signal()
# kwargs: ticket (locked), responded_at. Sent when the first public staff reply lands.
first_response_recorded = Signal()
# kwargs: tickets (a list of locked tickets whose first response a broadcast reply met).
first_responses_recorded = Signal()
# kwargs: tickets (being imported, not yet written: set columns in memory), owed (those whose
# first response breached before the import and is still owed), now (the import's time).
imported_breaches_owed = Signal()
