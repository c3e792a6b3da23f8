"""The SLA engine's answers to `tickets.signals`. Each is one call into `sla.services`; they
run inside the ticket service's transaction, on the row it locked."""

from typing import Any

from tickets.models import Ticket

from . import services
from .signals import imported_breaches_owed


def on_ticket_filed(*, ticket, **kwargs: Any) -> None:
    services.sla_clocks_start(ticket=ticket)


def on_reply_posting(*, ticket, comment, **kwargs: Any) -> None:
    # Raises DomainError to refuse the reply, so admin, portal and API all refuse it alike.
    services.sla_reply_check(ticket=ticket, comment=comment)


def on_reply_posted(*, ticket, comment, **kwargs: Any) -> None:
    services.sla_reply_record(ticket=ticket, comment=comment)


def on_replies_broadcast(*, tickets, comments, **kwargs: Any) -> None:
    services.sla_replies_record(tickets=tickets, comments=comments)


def on_status_changed(*, ticket, before, after, **kwargs: Any) -> None:
    services.sla_status_apply(ticket=ticket, before=before, after=after)


def on_impact_changed(*, ticket, before, after, **kwargs: Any) -> None:
    services.sla_impact_retarget(ticket=ticket, before=before, after=after)


def on_tickets_importing(*, imports, now, **kwargs: Any) -> None:
    owed = services.sla_clocks_import(imports=imports, now=now)
    imported_breaches_owed.send(
        sender=Ticket,
        tickets=[i.ticket for i in imports],
        owed=owed,
        now=now,
    )
