"""The queue's bulk actions: each ticket goes through the service; one refusal does not stop
the rest."""

from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from tickets import services
from tickets.errors import DomainError
from tickets.major_incidents import major_incident_link
from tickets.models import Status, Ticket

from .ticket_forms import TicketActionForm

if TYPE_CHECKING:  # a mixin of `TicketAdmin`: it calls the ModelAdmin it is mixed into
    _Base = admin.ModelAdmin[Ticket]
else:
    _Base = object


class TicketActionsMixin(_Base):
    """The actions of `TicketAdmin`'s changelist (its `action_form` is `TicketActionForm`)."""

    actions = (
        "assign_to_me",
        "assign_to_chosen",
        "unassign",
        "change_status",
        "link_to_major_incident",
    )

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

    def _action_form(self, request: HttpRequest) -> TicketActionForm:
        """The changelist's action form as submitted, offering this page's actions."""
        form = TicketActionForm(request.POST)
        action = form.fields["action"]
        assert isinstance(action, forms.ChoiceField)  # admin's ActionForm declares it so
        action.choices = self.get_action_choices(request)
        return form

    @admin.action(description="Assign to me")
    def assign_to_me(self, request, queryset):
        self._bulk(request, queryset, "Assigned to you", assignee=request.user)

    @admin.action(description="Assign to the staff member chosen in “Assign to”")
    def assign_to_chosen(self, request, queryset):
        form = self._action_form(request)
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
        form = self._action_form(request)
        if not form.is_valid() or not form.cleaned_data.get("status"):
            self.message_user(request, "Choose the new status in “Status”.", messages.ERROR)
            return
        status = form.cleaned_data["status"]
        self._bulk(request, queryset, f"Moved to {Status(status).label.lower()}", status=status)

    @admin.action(description="Link to the major incident chosen in “Major incident”")
    def link_to_major_incident(self, request, queryset):
        form = self._action_form(request)
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
