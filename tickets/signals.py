"""What the ticketing domain tells the apps above it (`sla`, `escalation`).

Sent by `tickets.services` inside the service's transaction, so a handler's writes commit or
roll back with the change. A handler may veto by raising `tickets.errors.DomainError`. The
ticket's own emails (`tickets.notify`) are written after the handlers have answered, so they
state the due times the SLA has just set.
"""

from django.dispatch import Signal

# kwargs: ticket, actor
ticket_filed = Signal()
# kwargs: ticket (locked), comment (not saved yet), actor. Raise DomainError to refuse.
reply_posting = Signal()
# kwargs: ticket, comment, actor
reply_posted = Signal()
# kwargs: ticket, actor, before, after, change (the history row just written for the move:
# its id is the move's sequence number, e.g. the status email's key in the ledger)
status_changed = Signal()
# kwargs: ticket, actor. A ticket linked to a major incident moves out of resolved or closed
# (sent before status_changed, so the SLA's handlers see it on its own).
ticket_reopened = Signal()
# kwargs: ticket, actor, before, after
impact_changed = Signal()
# kwargs: ticket, actor, before, after (user ids or None)
assignee_changed = Signal()
# kwargs: tickets (locked), comments (saved, one per ticket, same order), actor,
# broadcast_id, headline. One public staff reply posted on many tickets at once (a major
# incident's update), sent once per batch so handlers keep their queries per batch.
replies_broadcast = Signal()
# kwargs: imports (a list of `tickets.jira.plan.TicketImport`: the ticket, not yet written,
# and its first and last public staff reply times), now. Sent once per batch of a JIRA import,
# before the rows are written: handlers set their columns on the tickets in memory and the
# import writes them with the rest, so the import sends nothing and costs a few queries a batch.
tickets_importing = Signal()
