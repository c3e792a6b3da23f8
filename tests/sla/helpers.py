import datetime

import time_machine

from sla.scan import sla_scan_run
from tickets import services
from tickets.models import Ticket
from tickets.outbox import notifications_deliver_due


def file_ticket(*, actor, site, kind="incident", impact="high", at=None, **fields):
    """File through the service (clocks and receipts included), at a given moment."""
    fields.setdefault("title", "EHR interface down")
    fields.setdefault("description", "Patient MRN 12345 cannot be admitted.")
    if kind != "incident":
        impact = ""
    if at is None:
        return services.ticket_create(actor=actor, site=site, kind=kind, impact=impact, **fields)
    with time_machine.travel(at, tick=False):
        return services.ticket_create(actor=actor, site=site, kind=kind, impact=impact, **fields)


def scan_at(when: datetime.datetime) -> dict[str, int]:
    """One pass as the periodic task does it: the scan, then delivery of what is due."""
    with time_machine.travel(when, tick=False):
        counts = sla_scan_run(now=when)
        notifications_deliver_due(now=when)
        return counts


def at(when: datetime.datetime, fn, **kwargs):
    with time_machine.travel(when, tick=False):
        return fn(**kwargs)


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_related("site", "reporter", "assignee").get(pk=ticket.pk)
