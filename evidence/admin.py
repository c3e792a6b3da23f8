"""The evidence in the back office: to read, never to change. No one, superusers included, may
add, change or delete an entry, a chain or a view record here."""

import json
from typing import TYPE_CHECKING

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from portal.backoffice.records import StaffRecordMixin
from tickets.models import Ticket

from .models import EvidenceChain, EvidenceEntry, TicketView
from .services import ticket_view_record


class ReadOnlyAdmin(StaffRecordMixin, admin.ModelAdmin):
    """The evidence is read, never written: no add, change, delete, nor any action."""

    def get_actions(self, request: HttpRequest):
        return {}  # no bulk delete, nor any other action


def _reference(obj) -> str:
    # The evidence outlives a deleted ticket row (no constraint): say so rather than fail.
    try:
        return obj.ticket.reference
    except Ticket.DoesNotExist:
        return f"(ticket {obj.ticket_id} deleted)"


@admin.register(EvidenceEntry)
class EvidenceEntryAdmin(ReadOnlyAdmin):
    list_display = ("reference", "seq", "kind", "at", "source", "short_hash")
    list_filter = ("kind",)
    search_fields = ("=ticket__reference", "source")
    date_hierarchy = "at"
    list_per_page = 100
    fields = ("reference", "seq", "kind", "at", "source", "payload_text", "prev_hash", "hash",
              "sealed_at")  # fmt: skip

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("ticket")

    @admin.display(description="Ticket", ordering="ticket__reference")
    def reference(self, obj: EvidenceEntry) -> str:
        return _reference(obj)

    @admin.display(description="Hash")
    def short_hash(self, obj: EvidenceEntry) -> str:
        return obj.hash[:12]

    @admin.display(description="Payload")
    def payload_text(self, obj: EvidenceEntry):
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, sort_keys=True))


@admin.register(EvidenceChain)
class EvidenceChainAdmin(ReadOnlyAdmin):
    list_display = ("reference", "length", "head_hash", "updated_at", "purged_at")
    search_fields = ("=reference",)


@admin.register(TicketView)
class TicketViewAdmin(ReadOnlyAdmin):
    list_display = ("at", "viewer_name", "ticket_reference", "what", "face")
    list_filter = ("what", "face")
    date_hierarchy = "at"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("ticket")

    @admin.display(description="Ticket")
    def ticket_reference(self, obj: TicketView) -> str:
        return _reference(obj)


if TYPE_CHECKING:  # a mixin of the ticket admin: it extends the ModelAdmin it is mixed into
    _Base = admin.ModelAdmin[Ticket]
else:
    _Base = object


class TicketViewsRecordedMixin(_Base):
    """For the ticket admin: opening a ticket's page (its description and thread) is recorded,
    one insert per page."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200 and str(object_id).isdigit():
            ticket_view_record(
                user=request.user,
                ticket_id=int(object_id),
                what=TicketView.What.TICKET,
                face=TicketView.Face.BACK_OFFICE,
            )
        return response
