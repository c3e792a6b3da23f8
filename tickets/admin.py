"""The staff back office for tickets. Staff work tickets here all day: every write goes through
`tickets.services`, so admin obeys the same rules, history and notifications as the portal and
the API; a refused change (DomainError) becomes a form error or a message, never a 500."""

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AdminSplitDateTime
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.db.models import CharField, F, Q, QuerySet, Value
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from escalation.admin import EscalationRecordInline, escalation_preview_html
from portal.backoffice.clock import ClockFaceMixin, clock_column, row_zone
from portal.backoffice.formatting import sla_phrase
from portal.backoffice.selectors import RUNNING_STATUSES, tickets_with_due
from sla.selectors import policy_for

from . import services
from .actors import Actor, request_actor
from .clockface import timezone_choices, when_text, zone_named
from .errors import DomainError
from .major_incidents import major_incident_link
from .models import (
    OPEN_STATUSES,
    Attachment,
    ClientSite,
    Kind,
    MajorIncident,
    MembershipEvent,
    Notification,
    Role,
    SiteMembership,
    SLAState,
    Status,
    Ticket,
    TicketEvent,
)
from .selectors import (
    THREAD_KIND_LABELS,
    is_staff,
    membership_role,
    person_name,
    ticket_thread,
    tickets_visible_to,
    viewer_zone,
)

User = get_user_model()

BACKOFFICE_CSS = {"all": ("backoffice/backoffice.css",)}
TICKET_FIELDSET = "Ticket"
KIND_SHORT: dict[str, str] = {
    Kind.GENERAL: "General / Q&A",
    Kind.TASK: "Routine task",
    Kind.CHANGE: "Change",
}


class StaffWorkMixin:
    """Working the queue is every active staff member's job: no per-model permission needed.
    Nothing here is ever deleted; history and the outbox are the record."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_staff(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff(request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        return self.fields


def _domain_error_to_form(form: forms.BaseForm, exc: DomainError, aliases: dict | None = None):
    field = (aliases or {}).get(exc.field, exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


if TYPE_CHECKING:  # what the mixin is mixed into, for the type checker
    from portal.backoffice.selectors import TicketWithDue

    _FormBase = forms.ModelForm
else:
    _FormBase = object


class ServiceFormMixin(_FormBase):
    """A form whose valid submission is carried out by services during validation.

    Admin shows errors only from validation, so the services run in `clean()`, inside a
    savepoint of admin's own transaction: a refused change rolls back whole and shows on the
    field it concerns, and `save_model` has nothing left to do.
    """

    request: HttpRequest | None = None  # set per request by the ModelAdmin's get_form
    error_aliases: dict[str, str] = {}

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            with transaction.atomic():
                self.apply(actor=request_actor(self.request))
        except DomainError as exc:
            _domain_error_to_form(self, exc, self.error_aliases)
        return cleaned

    def apply(self, *, actor: Actor) -> None:
        raise NotImplementedError


IMPACT_HELP = (
    "Incidents only. High: the platform is unavailable or unusable for multiple users, or "
    "revenue or time-sensitive regulatory compliance is affected. Medium: limited "
    "functionality or degraded performance for more than 5% of users. Low: no more than 5% "
    "of users affected, or a non-critical component or a feature with a workaround."
)


class TicketAddForm(ServiceFormMixin, forms.ModelForm):
    """Staff filing a ticket, for themselves or on behalf of a site's pm or it member."""

    class Meta:
        model = Ticket
        fields = ["site", "reporter", "kind", "impact", "title", "description"]
        help_texts = {
            "reporter": "A project manager or IT member of the site, or yourself.",
            "impact": IMPACT_HELP,
        }

    def apply(self, *, actor: Actor) -> None:
        data = self.cleaned_data
        self.instance = services.ticket_create(
            actor=actor,
            site=data["site"],
            reporter=data["reporter"],
            kind=data["kind"],
            impact=data.get("impact") or "",
            title=data["title"],
            description=data["description"],
        )


VISIBILITY_CHOICES = [
    ("public", "Public reply (the site's contacts see it and are emailed)"),
    ("internal", "Internal note (staff only)"),
]


class TicketWorkForm(ServiceFormMixin, forms.ModelForm):
    """The ticket page's one form: reply or note, then status, impact and assignee."""

    body = forms.CharField(
        label="Reply",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text="Leave empty to change only the fields below.",
    )
    visibility = forms.ChoiceField(
        choices=VISIBILITY_CHOICES, initial="public", widget=forms.RadioSelect
    )
    estimated_resolution_at = forms.SplitDateTimeField(
        label="Estimated resolution",
        required=False,
        widget=AdminSplitDateTime,
        help_text="Goes with a public reply.",
    )
    # What the page showed, so that a change made meanwhile by someone else (the client
    # replying, a colleague assigning) is not undone by a form that merely re-sends it.
    status_was = forms.CharField(required=False, widget=forms.HiddenInput)
    impact_was = forms.CharField(required=False, widget=forms.HiddenInput)
    assignee_was = forms.CharField(required=False, widget=forms.HiddenInput)
    error_aliases = {"public": "visibility"}

    class Meta:
        model = Ticket
        fields = ["status", "impact", "assignee"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("status", "impact", "assignee"):
            if f"{name}_was" in self.fields:
                value = getattr(self.instance, f"{name}_id" if name == "assignee" else name)
                self.fields[f"{name}_was"].initial = "" if value is None else str(value)

    def _changed_by_user(self, name: str) -> bool:
        if name not in self.fields or name not in self.cleaned_data:
            return False
        if f"{name}_was" not in self.data:
            return name in self.changed_data
        value = self.cleaned_data[name]
        value = getattr(value, "pk", value)
        return ("" if value is None else str(value)) != self.data[f"{name}_was"]

    def apply(self, *, actor: Actor) -> None:
        data = self.cleaned_data
        ticket = self.instance
        first = {name: data[name] for name in ("impact", "assignee") if self._changed_by_user(name)}
        if first:
            ticket = services.ticket_update(ticket=ticket, actor=actor, **first)
        body = data.get("body") or ""
        estimate = data.get("estimated_resolution_at")
        if body.strip():
            services.comment_post(
                ticket=ticket,
                author=actor,
                body=body,
                public=data.get("visibility") == "public",
                estimated_resolution_at=estimate,
            )
        elif estimate is not None:
            raise DomainError("Write the public reply that carries the estimate.", field="body")
        if self._changed_by_user("status"):
            services.ticket_update(ticket=ticket, actor=actor, status=data["status"])


class TicketActionForm(helpers.ActionForm):
    """The extra inputs of the changelist's bulk actions."""

    assignee = forms.ModelChoiceField(
        queryset=User.objects.filter(is_staff=True, is_active=True).order_by("username"),
        required=False,
        label="Assign to",
    )
    status = forms.ChoiceField(
        choices=[("", "---------"), *Status.choices], required=False, label="Status"
    )
    major_incident = forms.ModelChoiceField(
        queryset=MajorIncident.objects.exclude(status=MajorIncident.Status.RESOLVED),
        required=False,
        label="Major incident",
    )


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


def event_label(event: str) -> str:
    """The readable name of an email event; webhook rows keep their own names."""
    return dict(Notification.Event.choices).get(event, event)


def ticket_admin_link(ticket: Ticket | None) -> str:
    """A link to the ticket's back-office page, or a dash."""
    if ticket is None:
        return "-"
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    return format_html('<a href="{}">{}</a>', url, ticket.reference)


def notification_status_html(obj: Notification) -> str:
    return format_html(
        '<span class="notification-{}">{}</span>', obj.status, obj.get_status_display()
    )


@admin.register(Ticket)
class TicketAdmin(StaffWorkMixin, admin.ModelAdmin):
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
    actions = (
        "assign_to_me",
        "assign_to_chosen",
        "unassign",
        "change_status",
        "link_to_major_incident",
    )
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

    @admin.display(description="Description")
    def description_text(self, obj: Ticket):
        return format_html('<div style="white-space: pre-wrap">{}</div>', obj.description)

    # The two forms: filing on the add page, working the ticket on the change page.

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        kwargs["form"] = TicketWorkForm if obj is not None else TicketAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        if issubclass(form, ServiceFormMixin):
            form.request = request
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
        """Nothing to save: the form's services did the work (see ServiceFormMixin)."""

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

    # Bulk actions: each ticket goes through the service; one refusal does not stop the rest.

    def _bulk(self, request, queryset, verb: str, **changes) -> None:
        done, refused = 0, []
        for ticket in queryset.select_related(None).order_by("pk"):
            try:
                services.ticket_update(ticket=ticket, actor=request.user, **changes)
                done += 1
            except DomainError as exc:
                refused.append(f"{ticket.reference}: {exc.message}")
        if done:
            self.message_user(request, f"{verb} {done} ticket(s).", messages.SUCCESS)
        if refused:
            self.message_user(
                request,
                f"{len(refused)} ticket(s) refused. " + " ".join(refused[:10]),
                messages.ERROR,
            )

    @admin.action(description="Assign to me")
    def assign_to_me(self, request, queryset):
        self._bulk(request, queryset, "Assigned to you", assignee=request.user)

    @admin.action(description="Assign to the staff member chosen in “Assign to”")
    def assign_to_chosen(self, request, queryset):
        form = TicketActionForm(request.POST)
        cast(forms.ChoiceField, form.fields["action"]).choices = self.get_action_choices(request)
        if not form.is_valid() or not form.cleaned_data.get("assignee"):
            self.message_user(request, "Choose whom to assign in “Assign to”.", messages.ERROR)
            return
        assignee = form.cleaned_data["assignee"]
        self._bulk(request, queryset, f"Assigned to {assignee}", assignee=assignee)

    @admin.action(description="Unassign")
    def unassign(self, request, queryset):
        self._bulk(request, queryset, "Unassigned", assignee=None)

    @admin.action(description="Change status to the one chosen in “Status”")
    def change_status(self, request, queryset):
        form = TicketActionForm(request.POST)
        cast(forms.ChoiceField, form.fields["action"]).choices = self.get_action_choices(request)
        if not form.is_valid() or not form.cleaned_data.get("status"):
            self.message_user(request, "Choose the new status in “Status”.", messages.ERROR)
            return
        status = form.cleaned_data["status"]
        self._bulk(request, queryset, f"Moved to {Status(status).label.lower()}", status=status)

    @admin.action(description="Link to the major incident chosen in “Major incident”")
    def link_to_major_incident(self, request, queryset):
        form = TicketActionForm(request.POST)
        cast(forms.ChoiceField, form.fields["action"]).choices = self.get_action_choices(request)
        incident = form.cleaned_data.get("major_incident") if form.is_valid() else None
        if incident is None:
            self.message_user(request, "Choose the major incident in “Major incident”.", "error")
            return
        try:
            done = major_incident_link(
                major_incident=incident, tickets=queryset, actor=request.user
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, f"Linked {done} ticket(s) to {incident}.", messages.SUCCESS)


# The notification ledger


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


# Sites and their members


class MembershipInlineForm(forms.ModelForm):
    class Meta:
        model = SiteMembership
        fields = ["user", "role"]


class _DryRun(Exception):
    pass


class MembershipFormSet(forms.BaseInlineFormSet):
    """Members change through the services. Validation runs them once in a savepoint that is
    rolled back, so a refusal shows on the page; `save_formset` then runs them for real."""

    request: HttpRequest | None = None

    def clean(self) -> None:
        super().clean()
        if any(self.errors) or self.instance.pk is None:
            return
        try:
            with transaction.atomic():
                self.apply(actor=request_actor(self.request))
                raise _DryRun
        except _DryRun:
            pass
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc

    def apply(self, *, actor: Actor) -> None:
        site = self.instance
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        for form in self.initial_forms:
            if form in self.deleted_forms:
                services.membership_remove(site=site, user=form.instance.user, actor=actor)
                self.deleted_objects.append(form.instance)
        for form in self.forms:
            if form in self.deleted_forms or not form.has_changed():
                continue
            data = form.cleaned_data
            if not data.get("user"):
                continue
            before = form.initial.get("user")
            if form.instance.pk and before and before != data["user"].pk:
                services.membership_remove(site=site, user=User.objects.get(pk=before), actor=actor)
            membership = services.membership_set(
                site=site, user=data["user"], role=data["role"], actor=actor
            )
            if form.instance.pk:
                self.changed_objects.append((membership, form.changed_data))
            else:
                self.new_objects.append(membership)


class MembershipInline(admin.TabularInline):
    model = SiteMembership
    form = MembershipInlineForm
    formset = MembershipFormSet
    extra = 1
    autocomplete_fields = ("user",)
    verbose_name = "member"
    verbose_name_plural = "Members (pm and it may file and reply; viewers only read)"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        if issubclass(formset, MembershipFormSet):
            formset.request = request
        return formset

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


class ClientSiteForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        choices=timezone_choices, help_text="Times in the portal and emails read in this zone."
    )

    class Meta:
        model = ClientSite
        fields = ["name", "slug", "timezone", "is_active"]


@admin.register(ClientSite)
class ClientSiteAdmin(ClockFaceMixin, admin.ModelAdmin):
    form = ClientSiteForm
    list_display = ("name", "slug", "timezone", "is_active", "created_when")
    site_timezone_path = "timezone"
    created_when = clock_column("created_at", "Created")
    list_filter = ("is_active",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (MembershipInline,)
    readonly_fields = ("escalation_preview", "membership_history")

    @admin.display(description="membership history")
    def membership_history(self, site: ClientSite) -> str:
        """Who invited, changed the role of, or removed whom, and when (newest first)."""
        if site.pk is None:
            return "-"
        events = MembershipEvent.objects.filter(site=site)[:MEMBERSHIP_HISTORY_ROWS]
        if not events:
            return "No membership changes recorded yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    when_text(e.created_at, row_zone(site)),
                    e.actor_name or "(system)",
                    e.get_action_display(),
                    e.member_name,
                    " \u2192 ".join(r for r in (e.role_before, e.role_after) if r),
                )
                for e in events
            ),
        )
        return format_html(
            "<table><thead><tr><th>when</th><th>who</th><th>did</th><th>to whom</th>"
            "<th>role</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="who hears escalations")
    def escalation_preview(self, site: ClientSite) -> str:
        if site.pk is None:
            return "Save the site first; site-less contacts will serve it too."
        return escalation_preview_html(site=site)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Every staff member looks sites up (and autocompletes them); editing needs the perm.
        return is_staff(request.user) or super().has_view_permission(request, obj)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_staff(request.user) or super().has_module_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A site with tickets is history: deactivate it instead.
        if obj is not None and obj.tickets.exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_inlines(self, request: HttpRequest, obj: Any = None):
        # Members are added on the site's page once the site exists.
        return self.inlines if obj is not None else ()

    def save_formset(self, request, form, formset, change) -> None:
        if isinstance(formset, MembershipFormSet):
            formset.apply(actor=request.user)
        else:
            super().save_formset(request, form, formset, change)


MEMBERSHIP_HISTORY_ROWS = 100


class MembershipOfUserInline(ClockFaceMixin, admin.TabularInline):
    model = SiteMembership
    site_timezone_path = "site__timezone"
    fields = ("site", "role", "created_when")
    created_when = clock_column("created_at", "Member since")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Site memberships (edit them from the site's page)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("site")


class PortalUserAdmin(UserAdmin):
    """Django's user admin, plus the user's sites; the assignee autocomplete lists only staff."""

    inlines = (*UserAdmin.inlines, MembershipOfUserInline)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Staff pick reporters and assignees through autocomplete, which needs view access.
        return is_staff(request.user) or super().has_view_permission(request, obj)

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if (
            request.GET.get("app_label") == "tickets"
            and request.GET.get("model_name") == "ticket"
            and request.GET.get("field_name") == "assignee"
        ):
            queryset = queryset.filter(is_staff=True, is_active=True)
        return queryset, may_have_duplicates


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, PortalUserAdmin)

from . import admin_major_incidents  # noqa: E402, F401  (registers the major incident admin)
