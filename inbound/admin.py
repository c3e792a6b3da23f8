"""The inbound-mail ledger: every message read from the support mailbox, what it matched and
what became of it. Read-only; staff attach the ones that reached no ticket."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.http import FileResponse, Http404, HttpRequest
from django.urls import path, reverse
from django.utils.html import format_html

from portal.backoffice.admin.common import ticket_admin_link
from portal.backoffice.clock import ClockFaceMixin, clock_column
from portal.backoffice.records import StaffRecordMixin
from tickets.actors import request_actor
from tickets.errors import DomainError
from tickets.selectors import tickets_visible_to

from .models import InboundMessage
from .services import inbound_message_attach


class AttachActionForm(ActionForm):
    ticket_reference = forms.CharField(
        required=False, label="Ticket", widget=forms.TextInput(attrs={"placeholder": "RX-1042"})
    )


class AnsweredFilter(admin.SimpleListFilter):
    title = "answered"
    parameter_name = "answered"

    def lookups(self, request, model_admin):
        return [("yes", "Answered"), ("no", "Not answered")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(answered_at__isnull=self.value() == "no")
        return queryset


@admin.register(InboundMessage)
class InboundMessageAdmin(StaffRecordMixin, ClockFaceMixin, admin.ModelAdmin):
    list_display = (
        "received_when",
        "from_address",
        "ticket_link",
        "outcome",
        "matched_by",
        "reason_short",
        "answered_when",
    )
    list_filter = ("outcome", "matched_by", AnsweredFilter, "ticket__site")
    list_select_related = ("ticket",)
    search_fields = ("from_address", "=ticket__reference", "subject", "=message_id")
    date_hierarchy = "received_at"
    actions = ("attach_to_ticket",)
    action_form = AttachActionForm
    fields = (
        "received_when",
        "from_address",
        "sender",
        "subject",
        "message_id",
        "ticket_link",
        "matched_by",
        "comment",
        "outcome",
        "reason",
        "answered_when",
        "text",
        "original_link",
    )
    readonly_fields = fields
    site_timezone_path = "ticket__site__timezone"
    received_when = clock_column("received_at", "Received")
    answered_when = clock_column("answered_at", "Answered")

    def get_urls(self):
        view = self.admin_site.admin_view(self.original_view)
        return [
            path("<int:pk>/original/", view, name="inbound_inboundmessage_original"),
            *super().get_urls(),
        ]

    def original_view(self, request: HttpRequest, pk: int) -> FileResponse:
        """The message as received (.eml), for staff only; never under a public URL."""
        message = InboundMessage.objects.filter(pk=pk).first()
        if message is None or not message.original or not self.has_view_permission(request):
            raise Http404
        return FileResponse(
            message.original.open("rb"),
            as_attachment=True,
            filename=f"inbound-{message.pk}.eml",
            content_type="message/rfc822",
        )

    @admin.display(description="Ticket", ordering="ticket__reference")
    def ticket_link(self, obj: InboundMessage):
        return ticket_admin_link(obj.ticket)

    @admin.display(description="Reason")
    def reason_short(self, obj: InboundMessage) -> str:
        return (obj.reason[:70] + "…") if len(obj.reason) > 70 else obj.reason

    @admin.display(description="Original message")
    def original_link(self, obj: InboundMessage):
        if not obj.original:
            return "-"
        url = reverse("admin:inbound_inboundmessage_original", args=[obj.pk])
        return format_html('<a href="{}">Download the original (.eml)</a>', url)

    @admin.action(description="Attach to the ticket named in the box")
    def attach_to_ticket(self, request: HttpRequest, queryset) -> None:
        reference = request.POST.get("ticket_reference", "").strip().upper()
        ticket = tickets_visible_to(request.user).filter(reference=reference).first()
        if ticket is None:
            self.message_user(
                request, "Type the reference of an existing ticket (RX-1042).", messages.ERROR
            )
            return
        attached = 0
        for message in queryset:
            try:
                inbound_message_attach(message=message, ticket=ticket, actor=request_actor(request))
            except DomainError as exc:
                self.message_user(request, f"{message}: {exc.message}", messages.WARNING)
            else:
                attached += 1
        if attached:
            self.message_user(request, f"{attached} email(s) attached to {ticket.reference}.")
