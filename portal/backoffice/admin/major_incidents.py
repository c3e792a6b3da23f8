"""Back office for major incidents: declare one, link tickets, post updates for every linked
ticket at once, and watch each linked ticket's SLA. The forms validate; `save_model` carries
them out through `tickets.major_incidents`."""

from typing import TYPE_CHECKING, Any, TypedDict

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, F, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from portal.backoffice.clock import ClockFaceMixin, clock_column, row_zone
from portal.backoffice.formatting import sla_phrase
from portal.backoffice.selectors import tickets_with_due
from tickets import major_incidents as services
from tickets.actors import Actor
from tickets.clockface import reading_zone, when_text
from tickets.errors import DomainError
from tickets.models import MajorIncident, Ticket
from tickets.selectors import is_staff, tickets_visible_to

from .common import BACKOFFICE_CSS, ServiceAdminMixin, StaffWorkMixin, adopt


class _Linked(TypedDict):
    linked_count: int


if TYPE_CHECKING:  # django-stubs-ext is a dev dependency: types only
    from django_stubs_ext import WithAnnotations

    # A major incident as the changelist reads it (`get_queryset`), with its ticket count.
    ListedIncident = WithAnnotations[MajorIncident, _Linked]

FIELDS = ["title", "summary", "impact", "all_sites", "sites", "lead"]


class MajorIncidentAddForm(forms.ModelForm):
    class Meta:
        model = MajorIncident
        fields = FIELDS

    request: HttpRequest | None = None  # set per request by the admin's get_form

    def apply(self, *, actor: Actor) -> MajorIncident:
        data = self.cleaned_data
        return services.major_incident_create(
            actor=actor,
            title=data["title"],
            summary=data.get("summary") or "",
            impact=data["impact"],
            sites=data.get("sites") or [],
            all_sites=data.get("all_sites", False),
            lead=data.get("lead"),
        )


class LinkableTicketsField(forms.ModelMultipleChoiceField):
    """Tickets to link or unlink, each named with its site and title."""

    def label_from_instance(self, obj: Ticket) -> str:
        return f"{obj.reference} · {obj.site.name} · {obj.title}"


class MajorIncidentWorkForm(forms.ModelForm):
    """The major incident's page: edit it, link and unlink tickets, post an update."""

    request: HttpRequest | None = None  # set per request by the admin's get_form

    link = LinkableTicketsField(
        queryset=Ticket.objects.none(),
        required=False,
        label="Link tickets",
        help_text="Open incidents of the affected sites that are not linked yet.",
    )
    unlink = LinkableTicketsField(
        queryset=Ticket.objects.none(),
        required=False,
        label="Unlink tickets",
        help_text="They go on running on their own clocks.",
    )
    update = forms.CharField(
        label="Post an update",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=(
            "Public: a staff reply on every linked open ticket (it meets first responses and "
            "restarts each site's update cadence); each person of the sites is emailed once."
        ),
    )
    update_internal = forms.BooleanField(
        label="Internal note (stays on the major incident)", required=False
    )
    resolution = forms.CharField(
        label="Final update when resolving",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="With status Resolved: posted on every linked ticket, which is then resolved.",
    )

    class Meta:
        model = MajorIncident
        fields = [*FIELDS, "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        incident = self.instance
        visible = tickets_visible_to(self.request.user) if self.request else Ticket.objects.none()
        link, unlink = self.fields["link"], self.fields["unlink"]
        assert isinstance(link, LinkableTicketsField)  # as declared above
        assert isinstance(unlink, LinkableTicketsField)
        link.queryset = (
            visible.filter(services.major_incidents_linkable_filter(incident))
            .select_related("site")
            .order_by("site__name", "pk")
        )
        unlink.queryset = visible.filter(major_incident=incident).select_related("site")

    def apply(self, *, actor: Actor) -> None:
        data = self.cleaned_data
        incident = self.instance
        changes = {
            name: data[name]
            for name in ("title", "summary", "impact", "lead", "all_sites")
            if name in self.changed_data
        }
        if "sites" in self.changed_data:
            changes["sites"] = list(data["sites"])
        if data.get("unlink"):
            services.major_incident_unlink(
                major_incident=incident, tickets=data["unlink"], actor=actor
            )
        if data.get("link"):
            services.major_incident_link(major_incident=incident, tickets=data["link"], actor=actor)
        if data.get("update"):
            services.major_incident_update_post(
                major_incident=incident,
                author=actor,
                body=data["update"],
                public=not data.get("update_internal"),
            )
        if "status" in self.changed_data:
            changes["status"] = data["status"]
        if changes:
            services.major_incident_change(
                major_incident=incident,
                actor=actor,
                resolution=data.get("resolution") or "",
                **changes,
            )


@admin.register(MajorIncident)
class MajorIncidentAdmin(ServiceAdminMixin, ClockFaceMixin, StaffWorkMixin, admin.ModelAdmin):
    list_display = ("title", "status", "impact", "affected", "linked", "lead", "last_update")
    list_filter = ("status", "impact")
    search_fields = ("title",)
    filter_horizontal = ("sites",)
    actions = ("open_missing_tickets",)
    readonly_on_change = ("linked_tickets", "updates_table", "created_when", "resolved_when")
    # A major incident spans sites: its own times read in the agent's zone (else UTC); each
    # linked ticket's in the agent's zone, else its site's.
    created_when = clock_column("created_at", "Declared")
    resolved_when = clock_column("resolved_at", "Resolved")
    last_update = clock_column("last_public_update_at", "Last public update")

    class Media:
        css = BACKOFFICE_CSS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_staff(request.user)

    def get_queryset(self, request: HttpRequest) -> QuerySet[MajorIncident]:
        return (
            super()
            .get_queryset(request)
            .select_related("lead")
            .annotate(linked_count=Count("tickets"))
        )

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        kwargs["form"] = MajorIncidentWorkForm if obj is not None else MajorIncidentAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None):
        if obj is None:
            return [(None, {"fields": FIELDS})]
        return [
            ("Linked tickets and their SLA", {"fields": ["linked_tickets"]}),
            ("Post an update", {"fields": ["update", "update_internal"]}),
            ("Link or unlink", {"fields": ["link", "unlink"]}),
            ("Major incident", {"fields": [*FIELDS, "status", "resolution"]}),
            ("Updates", {"fields": ["updates_table", "created_when", "resolved_when"]}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        if obj is None:
            return ()
        if not obj.is_open:
            return (*self.readonly_on_change, *FIELDS, "status")
        return self.readonly_on_change

    def save_model(self, request, obj, form, change) -> None:
        """Declare, or change, link and post, through the services (a refusal shows on the
        form)."""
        done = self.service_call(request, lambda: form.apply(actor=request.user))
        if not change:
            adopt(obj, done)

    def save_related(self, request, form, formsets, change) -> None:
        """The services set the sites."""

    @admin.display(description="Sites")
    def affected(self, obj: MajorIncident) -> str:
        return "every site" if obj.all_sites else ", ".join(s.name for s in obj.sites.all())

    @admin.display(description="Linked tickets", ordering="linked_count")
    def linked(self, obj: "ListedIncident") -> int:
        return obj.linked_count

    @admin.display(description="Linked tickets")
    def linked_tickets(self, obj: MajorIncident):
        """Each linked ticket's SLA, soonest due first: who is about to miss an update."""
        now = timezone.now()
        tickets = tickets_with_due(obj.tickets.select_related("site")).order_by(
            F("due_at").asc(nulls_last=True), "pk"
        )
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td><span class="sla-badge '
            'sla-{}">{}</span> {}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:tickets_ticket_change", args=[t.pk]),
                    t.reference,
                    t.site.name,
                    t.get_status_display(),
                    t.sla_state,
                    t.get_sla_state_display(),
                    sla_phrase(state=t.sla_state, due_at=t.due_at, now=now),
                    when_text(
                        t.next_update_due_at,
                        reading_zone(
                            preferred=getattr(obj, "viewer_timezone", ""),
                            site_timezone=t.site.timezone,
                        ),
                    ),
                )
                for t in tickets
            ),
        )
        if not rows:
            return "No ticket is linked yet."
        return format_html(
            '<table class="mi-tickets"><thead><tr><th>Ticket</th><th>Site</th><th>Status</th>'
            "<th>SLA</th><th>Next client update due</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="Updates")
    def updates_table(self, obj: MajorIncident):
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            '<td style="white-space: pre-wrap">{}</td></tr>',
            (
                (
                    when_text(u.created_at, row_zone(obj)),
                    u.author,
                    "public" if u.public else "internal",
                    u.ticket_count if u.public else "",
                    u.body,
                )
                for u in obj.updates.select_related("author").order_by("-created_at", "-id")
            ),
        )
        if not rows:
            return "None yet."
        return format_html(
            "<table><thead><tr><th>When</th><th>By</th><th></th><th>Tickets</th><th>Update</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.action(description="Open a linked ticket for each affected site that has none")
    def open_missing_tickets(self, request, queryset):
        for incident in queryset.order_by("pk"):
            try:
                opened = services.major_incident_tickets_open(
                    major_incident=incident, actor=request.user
                )
            except DomainError as exc:
                self.message_user(request, f"{incident}: {exc.message}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"{incident}: opened {len(opened)} ticket(s)"
                + (": " + ", ".join(t.reference for t in opened) if opened else "."),
                messages.SUCCESS,
            )
