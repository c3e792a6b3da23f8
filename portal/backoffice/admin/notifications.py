"""The notification ledger: every message the portal sent or tried to send, with its state;
failed rows can be sent again."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q
from django.http import HttpRequest

from portal.backoffice.clock import ClockFaceMixin, clock_column
from tickets import services
from tickets.errors import DomainError
from tickets.models import ClientSite, Notification
from tickets.selectors import is_staff, tickets_visible_to

from .common import (
    BACKOFFICE_CSS,
    StaffWorkMixin,
    event_label,
    notification_status_html,
    ticket_admin_link,
)


class SiteFilter(admin.SimpleListFilter):
    title = "site"
    parameter_name = "site"

    def lookups(self, request, model_admin):
        return list(ClientSite.objects.order_by("name").values_list("slug", "name"))

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(ticket__site__slug=self.value())
        return queryset


class EventFilter(admin.SimpleListFilter):
    title = "event"
    parameter_name = "event"

    def lookups(self, request, model_admin):
        return Notification.Event.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(event=self.value())
        return queryset


@admin.register(Notification)
class NotificationAdmin(ClockFaceMixin, StaffWorkMixin, admin.ModelAdmin):
    """Every message the portal sent or tried to send. Read-only; failed rows can be resent."""

    # Status and the last error first: a failed row must stand out at 1366 px.
    list_display = (
        "status_badge",
        "ticket_link",
        "event_label",
        "recipient",
        "error_short",
        "attempts",
        "created_when",
        "sent_when",
    )
    list_filter = ("status", EventFilter, SiteFilter, "channel")
    list_select_related = ("ticket",)
    search_fields = ("=ticket__reference", "recipient", "subject")
    date_hierarchy = "created_at"
    actions = ("send_again",)
    fields = (
        "ticket",
        "event",
        "sequence",
        "channel",
        "recipient",
        "subject",
        "status",
        "attempts",
        "last_error",
        "next_attempt_when",
        "created_when",
        "sent_when",
        "body_text",
        "grouped_with",
    )
    readonly_fields = fields
    site_timezone_path = "ticket__site__timezone"
    created_when = clock_column("created_at", "Created")
    sent_when = clock_column("sent_at", "Sent")
    next_attempt_when = clock_column("next_attempt_at", "Next attempt")

    class Media:
        css = BACKOFFICE_CSS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        extra_context = {"is_nav_sidebar_enabled": False, **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request: HttpRequest):
        visible = Q(ticket__in=tickets_visible_to(request.user))
        if is_staff(request.user):
            visible |= Q(ticket__isnull=True)  # answers to inbound mail that named no ticket
        return super().get_queryset(request).filter(visible)

    @admin.display(description="Ticket", ordering="ticket__reference")
    def ticket_link(self, obj: Notification):
        return ticket_admin_link(obj.ticket)

    @admin.display(description="Event", ordering="event")
    def event_label(self, obj: Notification) -> str:
        return event_label(obj.event)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Notification):
        return notification_status_html(obj)

    @admin.display(description="Last error")
    def error_short(self, obj: Notification) -> str:
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

    @admin.action(description="Send the selected failed notifications again")
    def send_again(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        try:
            count = services.notifications_resend(notification_ids=ids, actor=request.user)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        skipped = len(ids) - count
        self.message_user(request, f"{count} notification(s) queued to be sent again.")
        if skipped:
            self.message_user(
                request, f"{skipped} skipped: only failed notifications are resent.", messages.INFO
            )
