"""Reads for the staff back office: the queue's "due soonest" order and the dashboard's
counts. Every figure is computed by the database; no function here loads a site's tickets
into Python. (The monthly SLA compliance report, which the client portal and the evidence
pack show too, is `sla.report`.)

These live beside the back office (not in tickets/ or sla/) because they are its pages' reads;
they import the domain apps, never the other way round.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeAlias, TypedDict

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least

from sla.models import ScanRun
from sla.selectors import scan_last
from tickets.models import SLAState, Status, Ticket


class _DueAt(TypedDict):
    due_at: datetime | None


if TYPE_CHECKING:  # django-stubs-ext is a dev dependency: types only, never imported to run
    from django_stubs_ext import WithAnnotations

    # A ticket read through `tickets_with_due`, its `due_at` known to the type checker.
    TicketWithDue: TypeAlias = WithAnnotations[Ticket, _DueAt]

# Only these statuses run clocks; a ticket waiting on the client is paused.
RUNNING_STATUSES = (Status.NEW, Status.IN_PROGRESS)
OPEN_STATUSES = (Status.NEW, Status.IN_PROGRESS, Status.WAITING_ON_CLIENT)
SCAN_STALE_AFTER = timedelta(minutes=3)


def due_at_expression() -> Case:
    """The next SLA target of a ticket whose clocks run: the first response if still owed, or
    the next client update, whichever is earlier; null when nothing is due."""
    response = Case(
        When(responded_at__isnull=True, then=F("response_due_at")),
        default=Value(None),
        output_field=DateTimeField(),
    )
    update = F("next_update_due_at")
    # LEAST ignores nulls on PostgreSQL but not on SQLite; coalescing both ways works on both.
    earliest = Least(Coalesce(response, update), Coalesce(update, response))
    return Case(
        When(status__in=RUNNING_STATUSES, then=earliest),
        default=Value(None),
        output_field=DateTimeField(),
    )


def tickets_with_due(queryset: QuerySet[Ticket]) -> "QuerySet[TicketWithDue]":
    """The queryset with `due_at` annotated (see `due_at_expression`)."""
    return queryset.annotate(due_at=due_at_expression())


# Dashboard


@dataclass
class Dashboard:
    now: datetime
    # {sla_state: {impact or "": count}}, open tickets only
    open_by_state: dict[str, dict[str, int]]
    open_total: int
    next_to_breach: "list[TicketWithDue]"
    overdue_now: int
    breaches_today: int
    scan: ScanRun | None
    scan_stale: bool


def dashboard_get(*, tickets: QuerySet[Ticket], now: datetime) -> Dashboard:
    """The staff dashboard's figures, in a fixed number of queries whatever the ticket count."""
    open_tickets = tickets.filter(status__in=OPEN_STATUSES)
    grid: dict[str, dict[str, int]] = {state: {} for state in SLAState.values}
    total = 0
    for row in open_tickets.values("sla_state", "impact").annotate(n=Count("pk")).order_by():
        grid.setdefault(row["sla_state"], {})[row["impact"]] = row["n"]
        total += row["n"]
    queue = tickets_with_due(tickets.filter(status__in=RUNNING_STATUSES))
    next_to_breach = list(
        queue.filter(due_at__gte=now)
        .select_related("site", "assignee")
        .order_by("due_at", "pk")[:10]
    )
    overdue_now = queue.filter(due_at__lt=now).count()
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    breaches_today = tickets.filter(
        response_breached_at__gte=day_start, response_breached_at__lte=now
    ).count()
    scan = scan_last()
    stale = scan is None or (now - (scan.finished_at or scan.started_at)) > SCAN_STALE_AFTER
    return Dashboard(
        now=now,
        open_by_state=grid,
        open_total=total,
        next_to_breach=next_to_breach,
        overdue_now=overdue_now,
        breaches_today=breaches_today,
        scan=scan,
        scan_stale=stale,
    )
