"""Sites, their members and the users: membership changes go through the services (from
`save_formset`), and each site's page shows who hears its escalations and its membership
history."""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from escalation.admin import escalation_preview_html
from portal.backoffice.clock import ClockFaceMixin, clock_column, row_zone
from tickets import services
from tickets.actors import Actor
from tickets.clockface import timezone_choices, when_text
from tickets.models import ClientSite, MembershipEvent, SiteMembership
from tickets.selectors import is_staff

from .common import ServiceAdminMixin

User = get_user_model()


class MembershipInlineForm(forms.ModelForm):
    class Meta:
        model = SiteMembership
        fields = ["user", "role"]


class MembershipFormSet(forms.BaseInlineFormSet):
    """Members change through the services, called from the site admin's `save_formset`."""

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
class ClientSiteAdmin(ServiceAdminMixin, ClockFaceMixin, admin.ModelAdmin):
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
            self.service_call(
                request,
                lambda: formset.apply(actor=request.user),
                target=formset.prefix or formset.get_default_prefix(),
            )
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
    """Django's user admin, plus the user's sites. (The assignee autocomplete lists only
    active staff: `Ticket.assignee` limits its choices.)"""

    inlines = (*UserAdmin.inlines, MembershipOfUserInline)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Staff pick reporters and assignees through autocomplete, which needs view access.
        return is_staff(request.user) or super().has_view_permission(request, obj)


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, PortalUserAdmin)
