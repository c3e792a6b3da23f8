"""The ticket queue and a ticket's page, where staff work tickets all day. Every write goes
through `tickets.services` (from `save_model`), so the back office obeys the same rules,
history and notifications as the portal and the API."""

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models import CharField, F, QuerySet, Value
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from escalation.admin import EscalationRecordInline
from evidence.admin import TicketViewsRecordedMixin
from portal.backoffice.formatting import sla_phrase
from portal.backoffice.selectors import tickets_with_due
from satisfaction.admin import ticket_ratings_html
from sla.admin import ticket_policy_version_html
from sla.selectors import policy_for
from tickets.clockface import when_text, zone_named
from tickets.models import ClientSite, Kind, Role, Ticket
from tickets.selectors import (
    THREAD_KIND_LABELS,
    is_staff,
    membership_role,
    person_name,
    ticket_thread,
    tickets_visible_to,
    viewer_zone,
)

from .common import BACKOFFICE_CSS, ServiceAdminMixin, StaffWorkMixin, adopt
from .ticket_actions import TicketActionsMixin

if TYPE_CHECKING:
    from portal.backoffice.selectors import TicketWithDue
from .ticket_forms import TicketActionForm, TicketAddForm, TicketWorkForm
from .ticket_inlines import AttachmentInline, HistoryInline, NotificationInline, QueueFilter

TICKET_FIELDSET = "Ticket"
KIND_SHORT: dict[str, str] = {
    Kind.GENERAL: "General / Q&A",
    Kind.TASK: "Routine task",
    Kind.CHANGE: "Change",
}


@admin.register(Ticket)
class TicketAdmin(
    TicketViewsRecordedMixin,
    TicketActionsMixin,
    ServiceAdminMixin,
    StaffWorkMixin,
    admin.ModelAdmin,
):
    # The SLA badge first after the reference: it is what staff scan the queue for.
    list_display = (
        "reference",
        "sla",
        "title_cell",
        "site",
        "status",
        "assignee_name",
        "updated",
    )
    list_display_links = ("reference", "title_cell")
    list_filter = (
        QueueFilter,
        "status",
        "kind",
        "impact",
        "sla_state",
        ("site", admin.RelatedFieldListFilter),
        ("assignee", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("site", "assignee")
    search_fields = ("reference", "=jira_key", "title")
    date_hierarchy = "created_at"
    autocomplete_fields = ("site", "reporter", "assignee")
    list_per_page = 100
    action_form = TicketActionForm
    change_form_template = "admin/tickets/ticket/change_form.html"
    # The thread is drawn by the page itself (conversation order); these are the records.
    inlines = (
        EscalationRecordInline,
        NotificationInline,
        AttachmentInline,
        HistoryInline,
    )
    # The page's heading carries the reference and title; the clocks panel the dates.
    readonly_on_change = (
        "site",
        "reporter_text",
        "kind",
        "description_text",
        "created_at",
        "linked_major_incident",
        "sla_policy_version",
        "client_rating",
    )

    class Media:
        css = BACKOFFICE_CSS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_staff(request.user)

    def changelist_view(self, request, extra_context=None):
        # The queue needs the whole width at 1366 px: no navigation sidebar beside it.
        extra_context = {"is_nav_sidebar_enabled": False, **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    @admin.display(description="Major incident")
    def linked_major_incident(self, obj: Ticket):
        if obj.major_incident_id is None:
            return "-"
        url = reverse("admin:tickets_majorincident_change", args=[obj.major_incident_id])
        return format_html('<a href="{}">{}</a>', url, obj.major_incident)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        # The agent's chosen zone rides along, so each row's times read in it (or in the
        # row's site's zone when the agent chose none).
        preferred = getattr(request, "staff_timezone", "")
        return tickets_with_due(tickets_visible_to(request.user)).annotate(
            viewer_timezone=Value(preferred, output_field=CharField())
        )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Everything on a ticket's page, the estimate field included, reads and parses in
        # the agent's zone, or the ticket's site's zone when the agent chose none.
        site = None
        if object_id is not None:
            site = ClientSite.objects.filter(tickets__pk=object_id).first()
        zone = viewer_zone(
            user=request.user, site=site, preferred=getattr(request, "staff_timezone", None)
        )
        with timezone.override(zone):
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render"):  # render now, while the zone is active
                response.render()
            return response

    def get_ordering(self, request: HttpRequest):
        # What is due soonest first; tickets with nothing due follow, newest first.
        return [F("due_at").asc(nulls_last=True), "-created_at", "-pk"]

    @admin.display(description="SLA", ordering=F("due_at").asc(nulls_last=True))
    def sla(self, obj: "TicketWithDue"):
        phrase = sla_phrase(state=obj.sla_state, due_at=obj.due_at, now=timezone.now())
        overdue = phrase.startswith("overdue")
        return format_html(
            '<span class="sla-badge sla-{}">{}</span><span class="sla-when{}">{}</span>',
            obj.sla_state,
            obj.get_sla_state_display(),
            " sla-overdue" if overdue else "",
            phrase,
        )

    @admin.display(description="Title", ordering="title")
    def title_cell(self, obj: Ticket):
        marker = (
            format_html(
                '<span class="client-replied" title="{}">Client replied</span> ',
                "Updated by the client since our last reply",
            )
            if obj.client_replied_at and obj.is_open
            else ""
        )
        return format_html(
            '{}<span class="queue-title">{}</span><span class="queue-kind">{}</span>',
            marker,
            obj.title,
            self.kind_short(obj),
        )

    @admin.display(description="Assignee", ordering="assignee__first_name")
    def assignee_name(self, obj: Ticket) -> str:
        return person_name(obj.assignee) if obj.assignee else "Unassigned"

    @admin.display(description="Updated", ordering="updated_at")
    def updated(self, obj: Ticket) -> str:
        zone = zone_named(getattr(obj, "viewer_timezone", "") or obj.site.timezone)
        return when_text(obj.updated_at, zone)

    @admin.display(description="Kind", ordering="kind")
    def kind_short(self, obj: Ticket) -> str:
        if obj.kind == Kind.INCIDENT:
            return f"Incident, {obj.get_impact_display().lower()}"
        return KIND_SHORT.get(obj.kind, obj.kind)

    @admin.display(description="Reporter")
    def reporter_text(self, obj: Ticket) -> str:
        role = membership_role(user=obj.reporter, site=obj.site)
        role_label = Role(role).label if role else "not a member any more"
        return f"{person_name(obj.reporter)} ({role_label}, {obj.site.name}) · {obj.reporter.email}"

    @admin.display(description="SLA policy")
    def sla_policy_version(self, obj: Ticket):
        return ticket_policy_version_html(ticket=obj)

    @admin.display(description="Client rating")
    def client_rating(self, obj: Ticket):
        return ticket_ratings_html(ticket=obj)

    @admin.display(description="Description")
    def description_text(self, obj: Ticket):
        return format_html('<div style="white-space: pre-wrap">{}</div>', obj.description)

    # The two forms: filing on the add page, working the ticket on the change page.

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        kwargs["form"] = TicketWorkForm if obj is not None else TicketAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "estimated_resolution_at" in form.base_fields:
            field = form.base_fields["estimated_resolution_at"]
            zone = timezone.get_current_timezone_name()
            field.label = f"Estimated resolution ({zone})"
            field.help_text = f"Goes with a public reply. Enter it in {zone} time."
            if self._estimate_required(obj):
                field.help_text = (
                    "Required now: the first response to this kind of ticket must carry an "
                    f"estimated resolution time. Enter it in {zone} time."
                )
        return form

    @staticmethod
    def _estimate_required(ticket: Ticket) -> bool:
        if ticket.responded_at is not None:
            return False
        policy = policy_for(kind=ticket.kind, impact=ticket.impact)
        return bool(policy and policy.requires_estimate)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None):
        if obj is None:
            return [
                (None, {"fields": ["site", "reporter", "kind", "impact", "title", "description"]})
            ]
        work = ["status", "assignee", "status_was", "assignee_was"]
        if obj.kind == Kind.INCIDENT:
            work[1:1] = ["impact"]
            work.append("impact_was")
        reply = ["body", "visibility", "estimated_resolution_at"]
        # The template shows the ticket first, then the thread, then these two to act on it.
        return [
            (TICKET_FIELDSET, {"fields": list(self.readonly_on_change)}),
            ("Reply or add an internal note", {"fields": reply}),
            ("Status, impact and assignee", {"fields": work}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        return self.readonly_on_change if obj is not None else ()

    def get_inlines(self, request: HttpRequest, obj: Any = None):
        return self.inlines if obj is not None else ()

    def save_model(self, request, obj, form, change) -> None:
        """File the ticket, or work it, through the services (a refusal shows on the form)."""
        if change:
            self.service_call(
                request,
                lambda: form.apply(actor=request.user, ticket=obj),
                aliases=form.error_aliases,
            )
        else:
            adopt(obj, self.service_call(request, lambda: form.apply(actor=request.user)))

    def save_related(self, request, form, formsets, change) -> None:
        """The inlines are read-only records."""

    def construct_change_message(self, request, form, formsets, add=False):
        changed = [n for n in form.changed_data if n != "visibility" and not n.endswith("_was")]
        return [{"changed": {"fields": changed}}] if changed else []

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            now = timezone.now()
            due = tickets_with_due(Ticket.objects.filter(pk=obj.pk)).values_list(
                "due_at", flat=True
            )[0]
            context["sla_phrase"] = sla_phrase(state=obj.sla_state, due_at=due, now=now)
            context["sla_due_at"] = due
            context["estimate_required"] = self._estimate_required(obj)
            context["thread"] = [
                {**vars(entry), "label": THREAD_KIND_LABELS[entry.kind]}
                for entry in ticket_thread(user=request.user, ticket=obj)
            ]
            context["zone_name"] = timezone.get_current_timezone_name()
            context["staff_timezone"] = getattr(request, "staff_timezone", "")
            context["ledger_url"] = (
                reverse("admin:tickets_notification_changelist") + f"?q={obj.reference}"
            )
        return super().render_change_form(request, context, add, change, form_url, obj)
