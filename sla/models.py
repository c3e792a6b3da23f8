"""SLA policies and business calendars. The hours are data, edited in admin."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from tickets.models import Impact, Kind, validate_timezone


class BusinessCalendar(models.Model):
    """Working hours per weekday in a time zone, plus holidays. A policy without a calendar
    counts elapsed (24x7) time."""

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_timezone]
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.timezone})"


class WorkingPeriod(models.Model):
    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="periods")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField(help_text="Local time in the calendar's time zone.")
    end = models.TimeField(help_text="Local time; must be after the start (same day).")

    class Meta:
        ordering = ["weekday", "start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="period_end_after_start"),
            models.CheckConstraint(
                condition=Q(weekday__gte=0) & Q(weekday__lte=6), name="period_weekday_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"

    def clean(self) -> None:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValidationError({"end": "The end must be after the start."})


class Holiday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_once_per_date")
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class SLAPolicy(models.Model):
    """The commitment for one kind (and, for incidents, one impact)."""

    kind = models.CharField(max_length=10, choices=Kind.choices)
    impact = models.CharField(
        max_length=10,
        choices=Impact.choices,
        blank=True,
        default="",
        help_text="Incidents only; empty for other kinds.",
    )
    first_response_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(1)], help_text="First response within this many minutes."
    )
    requires_estimate = models.BooleanField(
        default=False,
        help_text="The first response must carry an estimated resolution time.",
    )
    update_every_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Incidents: a client update is owed this often (elapsed time). Empty: none.",
    )
    at_risk_percent = models.PositiveSmallIntegerField(
        default=75,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text="Warn the assignee once this share of a target has elapsed.",
    )
    update_warning_minutes = models.PositiveIntegerField(
        default=15,
        help_text="Warn the assignee this many minutes before a client update is due.",
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="policies",
        help_text="Count only this calendar's working time. Empty: elapsed time, 24x7.",
    )

    class Meta:
        ordering = ["kind", "impact"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(fields=["kind", "impact"], name="sla_policy_one_per_kind"),
            models.CheckConstraint(
                condition=(Q(kind="incident") & Q(impact__in=Impact.values))
                | (~Q(kind="incident") & Q(impact="")),
                name="sla_policy_impact_only_for_incidents",
            ),
            models.CheckConstraint(
                condition=Q(at_risk_percent__gte=1) & Q(at_risk_percent__lte=99),
                name="sla_policy_at_risk_percent_range",
            ),
        ]

    def __str__(self) -> str:
        label = self.get_kind_display()
        return f"{label} ({self.get_impact_display()})" if self.impact else label

    def clean(self) -> None:
        if self.kind == Kind.INCIDENT and not self.impact:
            raise ValidationError({"impact": "An incident policy needs an impact."})
        if self.kind != Kind.INCIDENT and self.impact:
            raise ValidationError({"impact": "Only incident policies have an impact."})


class ScanRun(models.Model):
    """One pass of the periodic scan and what it did: how operators see the workers are alive."""

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Scan at {self.started_at:%Y-%m-%d %H:%M:%S}"


class TicketPolicyRun(models.Model):
    """Which version of its SLA policy (and of the policy's calendar) a ticket ran on, from
    when: written when its clocks start and each time a policy, calendar or impact change
    re-targets it. The latest row is the one in force."""

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="sla_policy_runs"
    )
    policy = models.ForeignKey(
        SLAPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    policy_version = models.ForeignKey(
        "history.Version", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    calendar_version = models.ForeignKey(
        "history.Version", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    since = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-since", "-id"]
        indexes = [models.Index(fields=["ticket", "-since"], name="policy_run_ticket_since")]

    def __str__(self) -> str:
        version = f"version {self.policy_version.number}" if self.policy_version else "no policy"
        return f"{self.ticket_id}: {version} since {self.since:%Y-%m-%d %H:%M}"
