"""The monthly SLA compliance report of a site: first responses met and missed with their
median and 90th percentile, client updates by staff and automated, escalations reached and
client ratings, for one calendar month of the site's time zone. Every figure is computed by
the database; nothing here loads a site's tickets into Python.

The back office, the client portal's report page and the evidence pack all show this one
report, so it lives in the SLA domain rather than beside any one of them.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Aggregate,
    CharField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Cast, Concat

from satisfaction.selectors import RatingSummary, ratings_month
from tickets.models import ClientSite, Comment, Impact, Kind, Notification, Ticket


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate: the continuous percentile of the expression."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(
            expression, fraction=repr(float(fraction)), output_field=DurationField(), **extra
        )


# Rows of the report, in the order the support document lists them.
REPORT_GROUPS: list[tuple[str, str]] = [
    (Kind.GENERAL, ""),
    (Kind.TASK, ""),
    (Kind.CHANGE, ""),
    (Kind.INCIDENT, Impact.HIGH),
    (Kind.INCIDENT, Impact.MEDIUM),
    (Kind.INCIDENT, Impact.LOW),
]


def group_label(kind: str, impact: str) -> str:
    if kind == Kind.INCIDENT:
        return f"Incident, {Impact(impact).label.lower()} impact"
    return Kind(kind).label


@dataclass
class ResponseRow:
    kind: str
    impact: str
    label: str
    total: int = 0
    met: int = 0
    missed: int = 0
    pending: int = 0
    median: timedelta | None = None
    p90: timedelta | None = None

    @property
    def met_percent(self) -> float | None:
        decided = self.met + self.missed
        return round(100 * self.met / decided, 1) if decided else None


@dataclass
class SLAReport:
    site_name: str
    month_start: datetime  # local midnight on the 1st, in the site's time zone
    month_end: datetime
    rows: list[ResponseRow]
    overall: ResponseRow
    human_updates: dict[str, int] = field(default_factory=dict)  # impact -> count
    automated_updates: dict[str, int] = field(default_factory=dict)
    escalations: dict[int, int] = field(default_factory=dict)  # highest level -> tickets
    ratings: RatingSummary = field(default_factory=lambda: RatingSummary(good=0, bad=0))

    @property
    def human_total(self) -> int:
        return sum(self.human_updates.values())

    @property
    def automated_total(self) -> int:
        return sum(self.automated_updates.values())

    @property
    def updates_on_time_percent(self) -> float | None:
        """Every update cycle of an incident ends either with a staff reply before the clock
        ran out (on time) or with an automated update (staff missed it)."""
        cycles = self.human_total + self.automated_total
        return round(100 * self.human_total / cycles, 1) if cycles else None


def month_bounds(*, year: int, month: int, tz: str) -> tuple[datetime, datetime]:
    """The month as aware datetimes in the site's time zone (midnight to midnight local)."""
    zone = ZoneInfo(tz)
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    return start, end


def _response_outcomes() -> dict:
    met = Q(responded_at__isnull=False, response_breached_at__isnull=True) & (
        Q(response_due_at__isnull=True) | Q(responded_at__lte=F("response_due_at"))
    )
    missed = Q(response_breached_at__isnull=False) | Q(responded_at__gt=F("response_due_at"))
    return {
        "total": Count("pk"),
        "met": Count("pk", filter=met),
        "missed": Count("pk", filter=missed),
    }


def _response_time():
    return ExpressionWrapper(F("responded_at") - F("created_at"), output_field=DurationField())


# percentile_cont as SQL for SQLite, which has no such aggregate: rank the durations in each
# group, then interpolate between the two ranks around fraction * (n - 1), as PostgreSQL does.
_SQLITE_PERCENTILES = """
WITH d AS (
    SELECT kind, impact, (julianday(responded_at) - julianday(created_at)) * 86400.0 AS secs
    FROM ({inner}) AS t
), g AS (
    SELECT kind, impact, secs FROM d
    UNION ALL
    SELECT '*', '*', secs FROM d
), r AS (
    SELECT kind, impact, secs,
           ROW_NUMBER() OVER (PARTITION BY kind, impact ORDER BY secs) - 1 AS i,
           COUNT(*) OVER (PARTITION BY kind, impact) AS n
    FROM g
)
SELECT kind, impact, {columns} FROM r GROUP BY kind, impact
"""
_SQLITE_PERCENTILE_COLUMN = (
    "SUM(CASE WHEN i = CAST({p} * (n - 1) AS INTEGER)"
    " THEN secs * (1 - ({p} * (n - 1) - CAST({p} * (n - 1) AS INTEGER))) ELSE 0 END)"
    " + SUM(CASE WHEN i = CAST({p} * (n - 1) AS INTEGER) + 1"
    " THEN secs * ({p} * (n - 1) - CAST({p} * (n - 1) AS INTEGER)) ELSE 0 END)"
)


def _percentiles_sqlite(responded: QuerySet[Ticket]) -> dict[tuple[str, str], tuple]:
    inner, params = (
        responded.values("kind", "impact", "responded_at", "created_at").order_by().query
    ).sql_with_params()
    columns = ", ".join(_SQLITE_PERCENTILE_COLUMN.format(p=p) for p in (0.5, 0.9))
    sql = _SQLITE_PERCENTILES.format(inner=inner, columns=columns)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {
            (kind, impact): (timedelta(seconds=round(p50)), timedelta(seconds=round(p90)))
            for kind, impact, p50, p90 in cursor.fetchall()
        }


def sla_report_get(
    *, tickets: QuerySet[Ticket], site: ClientSite, year: int, month: int
) -> SLAReport:
    """The SLA compliance report of one site for one calendar month of the site's time zone.

    First responses count the tickets filed in the month; client updates and escalations count
    what happened in the month. Times to first response are elapsed time from filing.
    """
    start, end = month_bounds(year=year, month=month, tz=site.timezone)
    filed = tickets.filter(site=site, created_at__gte=start, created_at__lt=end)
    postgres = connection.vendor == "postgresql"

    outcomes = _response_outcomes()
    if postgres:
        outcomes["median"] = PercentileCont(_response_time(), 0.5)
        outcomes["p90"] = PercentileCont(_response_time(), 0.9)
    by_group = {
        (row["kind"], row["impact"]): row
        for row in filed.values("kind", "impact").annotate(**outcomes).order_by()
    }
    overall_values = filed.aggregate(**outcomes)
    if not postgres:
        percentiles = _percentiles_sqlite(filed.filter(responded_at__isnull=False))
        for key, (p50, p90) in percentiles.items():
            target = overall_values if key == ("*", "*") else by_group.get(key)
            if target is not None:
                target["median"], target["p90"] = p50, p90

    def row_from(kind: str, impact: str, label: str, values: dict | None) -> ResponseRow:
        values = values or {}
        total, met, missed = values.get("total", 0), values.get("met", 0), values.get("missed", 0)
        return ResponseRow(
            kind=kind,
            impact=impact,
            label=label,
            total=total,
            met=met,
            missed=missed,
            pending=total - met - missed,
            median=values.get("median") if total else None,
            p90=values.get("p90") if total else None,
        )

    rows = [
        row_from(kind, impact, group_label(kind, impact), by_group.get((kind, impact)))
        for kind, impact in REPORT_GROUPS
    ]
    overall = row_from("", "", "All tickets", overall_values)

    site_incidents = Q(ticket__site=site, ticket__kind=Kind.INCIDENT)
    in_month = Q(created_at__gte=start, created_at__lt=end)
    human = {
        row["ticket__impact"]: row["n"]
        for row in Comment.objects.filter(site_incidents, in_month, public=True, by_staff=True)
        .values("ticket__impact")
        .annotate(n=Count("pk"))
        .order_by()
    }
    # One automated update goes to several recipients: count (ticket, sequence) pairs.
    update_key = Concat(
        Cast("ticket_id", CharField()), Value(":"), Cast("sequence", CharField()),
        output_field=CharField(),
    )  # fmt: skip
    automated = {
        row["ticket__impact"]: row["n"]
        for row in Notification.objects.filter(
            site_incidents,
            in_month,
            event=Notification.Event.CLIENT_UPDATE,
            channel=Notification.Channel.EMAIL,
        )
        .values("ticket__impact")
        .annotate(n=Count(update_key, distinct=True))
        .order_by()
    }
    escalations = {
        row["escalation_level"]: row["n"]
        for row in filed.values("escalation_level").annotate(n=Count("pk")).order_by()
    }
    return SLAReport(
        site_name=site.name,
        month_start=start,
        month_end=end,
        rows=rows,
        overall=overall,
        human_updates=human,
        automated_updates=automated,
        escalations={level: escalations.get(level, 0) for level in range(1, 5)},
        ratings=ratings_month(tickets=tickets, site=site, start=start, end=end),
    )
