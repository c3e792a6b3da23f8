"""The parts of the ticket queue and page: the saved views of the queue and the read-only
records under a ticket (attachments, notifications, history)."""

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html_join

from portal.backoffice.clock import ClockFaceMixin, clock_column
from portal.backoffice.selectors import RUNNING_STATUSES
from tickets.models import OPEN_STATUSES, Attachment, Notification, SLAState, Status, TicketEvent
from tickets.selectors import person_name

from .common import ReadOnlyInline, event_label, notification_status_html


class QueueFilter(admin.SimpleListFilter):
    """The saved views staff use most."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [
            ("mine", "My open tickets"),
            ("unassigned", "Unassigned"),
            ("at_risk", "At risk"),
            ("breached", "Breached"),
            ("overdue", "Past a target now"),
            ("client_replied", "Updated by the client since our last reply"),
            ("waiting", "Waiting on client"),
            ("open", "All open"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        open_tickets = queryset.filter(status__in=OPEN_STATUSES)
        if value == "mine":
            return open_tickets.filter(assignee=request.user)
        if value == "unassigned":
            return open_tickets.filter(assignee__isnull=True)
        if value == "at_risk":
            return open_tickets.filter(sla_state=SLAState.AT_RISK)
        if value == "breached":
            return open_tickets.filter(sla_state=SLAState.BREACHED)
        if value == "overdue":
            return queryset.filter(status__in=RUNNING_STATUSES, due_at__lt=timezone.now())
        if value == "client_replied":
            return open_tickets.filter(client_replied_at__isnull=False)
        if value == "waiting":
            return queryset.filter(status=Status.WAITING_ON_CLIENT)
        if value == "open":
            return open_tickets
        return queryset


class AttachmentInline(ClockFaceMixin, ReadOnlyInline):
    model = Attachment
    site_timezone_path = "ticket__site__timezone"
    fields = ("original_name", "content_type", "size", "uploaded_by", "created_when")
    created_when = clock_column("created_at", "Uploaded")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("uploaded_by")


class HistoryInline(ClockFaceMixin, ReadOnlyInline):
    model = TicketEvent
    site_timezone_path = "ticket__site__timezone"
    fields = ("created_when", "actor_name", "action", "changes_text", "message")
    created_when = clock_column("created_at", "When")
    verbose_name = "history entry"
    verbose_name_plural = "History"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    @admin.display(description="Who")
    def actor_name(self, obj: TicketEvent) -> str:
        return person_name(obj.actor)

    @admin.display(description="Changes")
    def changes_text(self, obj: TicketEvent) -> str:
        pairs = [
            (name, "—" if value[0] is None else value[0], "—" if value[1] is None else value[1])
            for name, value in (obj.changes or {}).items()
            if isinstance(value, list | tuple) and len(value) == 2
        ]
        return format_html_join("; ", "{}: {} → {}", pairs)


class NotificationInline(ClockFaceMixin, ReadOnlyInline):
    model = Notification
    site_timezone_path = "ticket__site__timezone"
    fields = ("created_when", "event_name", "channel", "recipient", "status_badge", "attempts",
              "sent_when")  # fmt: skip
    created_when = clock_column("created_at", "Created")
    sent_when = clock_column("sent_at", "Sent")
    verbose_name_plural = "Notifications sent for this ticket"

    @admin.display(description="Event")
    def event_name(self, obj: Notification) -> str:
        return event_label(obj.event)

    @admin.display(description="Status")
    def status_badge(self, obj: Notification) -> str:
        return notification_status_html(obj)
