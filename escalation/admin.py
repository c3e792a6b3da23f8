"""Admin for the escalation ladder: levels, contacts and maxima are data staff edit; history
and acknowledgements are read-only records.

For the lead: `EscalationRecordInline` goes on the ticket admin's inlines, and
`escalation_preview_html(site=...)` renders the "who hears what" box for a site's page.
"""

from django.contrib import admin
from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from history.admin import VersionHistoryMixin
from portal.backoffice.clock import ClockFaceMixin, clock_column, row_zone
from tickets.clockface import when_text
from tickets.models import ClientSite

from .models import (
    EscalationAcknowledgement,
    EscalationContact,
    EscalationLevel,
    EscalationMaximum,
    EscalationRecord,
)
from .selectors import escalation_recipients_preview


def escalation_preview_html(*, site: ClientSite) -> SafeString:
    """A small HTML table: for each level, the contacts it adds and everyone who hears."""
    return render_to_string(
        "admin/escalation/recipients_preview.html",
        {"site": site, "levels": escalation_recipients_preview(site=site)},
    )


class _ReadOnly:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _notified(record: EscalationRecord) -> str:
    return (
        format_html_join(
            ", ",
            "{} ({}, level {})",
            ((n["name"], n["email"], n["level"]) for n in record.notified),
        )
        or "nobody (no contacts for this site)"
    )


def _acknowledged(record: EscalationRecord) -> str:
    acks = list(record.acknowledgements.all())
    if not acks:
        return "—"
    return format_html_join(
        ", ",
        "{} at {}",
        ((a.email, when_text(a.acknowledged_at, row_zone(record))) for a in acks),
    )


class EscalationRecordInline(ClockFaceMixin, _ReadOnly, admin.TabularInline):
    """A ticket's escalation history; add it to the ticket admin's `inlines`."""

    model = EscalationRecord
    fk_name = "ticket"
    extra = 0
    can_delete = False
    readonly_fields = ("level", "reached_when", "how", "notified_list", "acknowledged_by")
    fields = readonly_fields
    site_timezone_path = "ticket__site__timezone"
    reached_when = clock_column("reached_at", "reached at")
    verbose_name = "escalation"
    verbose_name_plural = "escalation history"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("actor")
            .prefetch_related("acknowledgements")
        )

    @admin.display(description="how")
    def how(self, record: EscalationRecord) -> str:
        return "automatic" if record.automatic else f"requested by {record.actor or '—'}"

    @admin.display(description="who was notified")
    def notified_list(self, record: EscalationRecord) -> str:
        return _notified(record)

    @admin.display(description="acknowledged by")
    def acknowledged_by(self, record: EscalationRecord) -> str:
        return _acknowledged(record)


class EscalationContactInline(admin.TabularInline):
    model = EscalationContact
    extra = 0
    fields = ["name", "role", "email", "phone", "site", "is_active"]


@admin.register(EscalationLevel)
class EscalationLevelAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "description"]
    ordering = ["number"]
    inlines = [EscalationContactInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # levels 1-4 are the support document's; rename or reword them instead


@admin.register(EscalationContact)
class EscalationContactAdmin(VersionHistoryMixin, admin.ModelAdmin):
    list_display = ["name", "role", "email", "phone", "level", "site_or_all", "is_active"]
    list_filter = ["level", "site", "is_active"]
    list_select_related = ["level", "site"]
    search_fields = ["name", "role", "email", "phone", "site__name"]
    list_editable = ["is_active"]

    @admin.display(description="site", ordering="site__name")
    def site_or_all(self, contact: EscalationContact) -> str:
        return contact.site.name if contact.site else "every site"


@admin.register(EscalationMaximum)
class EscalationMaximumAdmin(admin.ModelAdmin):
    list_display = ["kind", "impact", "max_level"]
    list_editable = ["max_level"]


@admin.register(EscalationRecord)
class EscalationRecordAdmin(ClockFaceMixin, _ReadOnly, admin.ModelAdmin):
    list_display = ["ticket", "site", "level", "reached_when", "how", "acknowledged_by"]
    list_filter = ["level", "automatic", "ticket__site"]
    list_select_related = ["ticket", "ticket__site", "actor"]
    search_fields = ["ticket__reference", "ticket__title"]
    date_hierarchy = "reached_at"
    readonly_fields = ("ticket", "level", "from_level", "reached_when", "how", "notified_list")
    fields = readonly_fields
    site_timezone_path = "ticket__site__timezone"
    reached_when = clock_column("reached_at", "reached at")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("acknowledgements")

    @admin.display(ordering="ticket__site__name")
    def site(self, record: EscalationRecord) -> str:
        return record.ticket.site.name

    @admin.display(description="how")
    def how(self, record: EscalationRecord) -> str:
        return "automatic" if record.automatic else f"requested by {record.actor or '—'}"

    @admin.display(description="who was notified")
    def notified_list(self, record: EscalationRecord) -> str:
        return _notified(record)

    @admin.display(description="acknowledged by")
    def acknowledged_by(self, record: EscalationRecord) -> str:
        return _acknowledged(record)


@admin.register(EscalationAcknowledgement)
class EscalationAcknowledgementAdmin(ClockFaceMixin, _ReadOnly, admin.ModelAdmin):
    list_display = ["email", "ticket", "level", "acknowledged_when", "contact"]
    list_select_related = ["record", "record__ticket", "contact"]
    list_filter = ["record__level"]
    search_fields = ["email", "record__ticket__reference"]
    readonly_fields = ("record", "contact", "email", "acknowledged_when", "user_agent")
    fields = readonly_fields
    site_timezone_path = "record__ticket__site__timezone"
    acknowledged_when = clock_column("acknowledged_at", "acknowledged at")

    @admin.display(ordering="record__ticket__reference")
    def ticket(self, ack: EscalationAcknowledgement) -> str:
        return format_html("{}", ack.record.ticket.reference)

    @admin.display(ordering="record__level")
    def level(self, ack: EscalationAcknowledgement) -> int:
        return ack.record.level
