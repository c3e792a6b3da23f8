"""SLA configuration in admin: policies (shown and edited in hours), business calendars with their
working periods and holidays, and the record of scan runs. These are data that staff with the
model permissions edit; every staff member may read them."""

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from history.admin import VersionHistoryMixin, version_url
from portal.backoffice.clock import ClockFaceMixin, clock_column
from tickets.clockface import when_text
from tickets.selectors import is_staff

from .models import BusinessCalendar, Holiday, ScanRun, SLAPolicy, WorkingPeriod
from .policy_runs import policy_run_words, policy_runs_of
from .services import sla_calendar_changed, sla_policy_changed

if TYPE_CHECKING:  # what the mixin is mixed into, for the type checker
    _AdminBase = admin.ModelAdmin
else:
    _AdminBase = object


class StaffMayReadMixin(_AdminBase):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_staff(request.user) or super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff(request.user) or super().has_view_permission(request, obj)


def hours_text(minutes: int | None) -> str:
    """`8 h`, `1.5 h`, `—`."""
    if minutes is None:
        return "—"
    hours = Decimal(minutes) / 60
    return f"{hours.quantize(Decimal('0.01')).normalize():f} h"


def _hours_to_minutes(value: Decimal | None) -> int | None:
    return None if value is None else int((value * 60).to_integral_value())


class SLAPolicyForm(forms.ModelForm):
    """The support document speaks in hours; the table stores minutes."""

    first_response_hours = forms.DecimalField(
        label="First response within (hours)", min_value=Decimal("0.02"), max_digits=8,
        decimal_places=2,
    )  # fmt: skip
    update_every_hours = forms.DecimalField(
        label="Client update every (hours)",
        required=False,
        min_value=Decimal("0.02"),
        max_digits=8,
        decimal_places=2,
        help_text="Incidents: a client update is owed this often (elapsed time). Empty: none.",
    )

    class Meta:
        model = SLAPolicy
        fields = [
            "kind",
            "impact",
            "first_response_hours",
            "requires_estimate",
            "update_every_hours",
            "at_risk_percent",
            "update_warning_minutes",
            "calendar",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["first_response_hours"] = Decimal(
                self.instance.first_response_minutes
            ) / Decimal(60)
            if self.instance.update_every_minutes:
                self.initial["update_every_hours"] = Decimal(
                    self.instance.update_every_minutes
                ) / Decimal(60)

    def clean(self):
        cleaned = super().clean() or {}
        if "first_response_hours" in cleaned:
            self.instance.first_response_minutes = _hours_to_minutes(
                cleaned["first_response_hours"]
            )
        if "update_every_hours" in cleaned:
            self.instance.update_every_minutes = _hours_to_minutes(cleaned["update_every_hours"])
        return cleaned


@admin.register(SLAPolicy)
class SLAPolicyAdmin(VersionHistoryMixin, StaffMayReadMixin, admin.ModelAdmin):
    form = SLAPolicyForm
    list_display = (
        "__str__",
        "first_response",
        "requires_estimate",
        "update_every",
        "at_risk_percent",
        "calendar_name",
    )
    list_select_related = ("calendar",)
    list_filter = ("kind", "requires_estimate")

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        # Open tickets under this policy move to the new targets once the edit commits.
        sla_policy_changed(policy=obj)

    @admin.display(description="First response within")
    def first_response(self, obj: SLAPolicy) -> str:
        return hours_text(obj.first_response_minutes)

    @admin.display(description="Client update every")
    def update_every(self, obj: SLAPolicy) -> str:
        return hours_text(obj.update_every_minutes)

    @admin.display(description="Clock")
    def calendar_name(self, obj: SLAPolicy) -> str:
        return str(obj.calendar) if obj.calendar else "Elapsed time (24x7)"


class WorkingPeriodInline(admin.TabularInline):
    model = WorkingPeriod
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(VersionHistoryMixin, StaffMayReadMixin, admin.ModelAdmin):
    list_display = ("name", "timezone", "working_week")
    search_fields = ("name",)
    inlines = (WorkingPeriodInline, HolidayInline)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("periods")

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        # After the periods and holidays are saved: re-target the tickets counted in it.
        sla_calendar_changed(calendar=form.instance)

    @admin.display(description="Working hours")
    def working_week(self, obj: BusinessCalendar) -> str:
        return format_html_join(", ", "{}", ((str(p),) for p in obj.periods.all())) or "—"


@admin.register(ScanRun)
class ScanRunAdmin(ClockFaceMixin, StaffMayReadMixin, admin.ModelAdmin):
    """What each pass of the periodic scan did; read-only."""

    list_display = ("started_when", "finished_when", "duration", "counts_text", "has_error")
    date_hierarchy = "started_at"
    fields = ("started_when", "finished_when", "counts", "error")
    readonly_fields = fields
    started_when = clock_column("started_at", "Started")  # a pass belongs to no site: UTC
    finished_when = clock_column("finished_at", "Finished")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Took")
    def duration(self, obj: ScanRun) -> str:
        if obj.finished_at is None:
            return "running or stopped"
        return f"{(obj.finished_at - obj.started_at).total_seconds():.2f} s"

    @admin.display(description="What it did")
    def counts_text(self, obj: ScanRun) -> str:
        return ", ".join(f"{k} {v}" for k, v in (obj.counts or {}).items()) or "—"

    @admin.display(description="Error", boolean=True)
    def has_error(self, obj: ScanRun) -> bool:
        return bool(obj.error)


def ticket_policy_version_html(*, ticket: Any) -> SafeString | str:
    """For the ticket's back-office page: the policy version it runs on now and since when,
    linked to that version, with the versions it ran on before."""
    runs = policy_runs_of(ticket=ticket)
    if not runs:
        return "Not recorded (the ticket's clocks started before policy versions were kept)."
    zone = timezone.get_current_timezone()

    def line(run) -> SafeString:
        words = policy_run_words(run)
        since = when_text(run.since, zone)
        if run.policy_version is None:
            return format_html("{}, since {}", words, since)
        return format_html(
            '<a href="{}">{}</a>, since {}', version_url(run.policy_version), words, since
        )

    current, *earlier = runs
    if not earlier:
        return line(current)
    return format_html(
        "{}<br><small>Before: {}</small>",
        line(current),
        format_html_join("; ", "{}", ((line(run),) for run in earlier)),
    )
