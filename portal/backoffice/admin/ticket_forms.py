"""The forms of the ticket pages: filing on the add page, working the ticket on the change
page, and the inputs of the queue's bulk actions. Each form only validates its input; what it
asks for is done by `tickets.services`, called from the admin's `save_model` (`apply`)."""

from django import forms
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AdminSplitDateTime
from django.contrib.auth import get_user_model

from tickets import services
from tickets.actors import Actor
from tickets.models import MajorIncident, Status, Ticket

User = get_user_model()

IMPACT_HELP = (
    "Incidents only. High: the platform is unavailable or unusable for multiple users, or "
    "revenue or time-sensitive regulatory compliance is affected. Medium: limited "
    "functionality or degraded performance for more than 5% of users. Low: no more than 5% "
    "of users affected, or a non-critical component or a feature with a workaround."
)


class TicketAddForm(forms.ModelForm):
    """Staff filing a ticket, for themselves or on behalf of a site's pm or it member."""

    class Meta:
        model = Ticket
        fields = ["site", "reporter", "kind", "impact", "title", "description"]
        help_texts = {
            "reporter": "A project manager or IT member of the site, or yourself.",
            "impact": IMPACT_HELP,
        }

    def apply(self, *, actor: Actor) -> Ticket:
        data = self.cleaned_data
        return services.ticket_create(
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


class TicketWorkForm(forms.ModelForm):
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
    # The services name the reply's visibility `public`.
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

    def clean(self):
        cleaned = super().clean() or {}
        body = cleaned.get("body") or ""
        if cleaned.get("estimated_resolution_at") is not None and not body.strip():
            self.add_error("body", "Write the public reply that carries the estimate.")
        return cleaned

    def _changed_by_user(self, name: str) -> bool:
        if name not in self.fields or name not in self.cleaned_data:
            return False
        if f"{name}_was" not in self.data:
            return name in self.changed_data
        value = self.cleaned_data[name]
        value = getattr(value, "pk", value)
        return ("" if value is None else str(value)) != self.data[f"{name}_was"]

    def apply(self, *, actor: Actor, ticket: Ticket) -> None:
        """Impact and assignee first (a reply's rules may depend on them), then the reply or
        note, then the status (so a reply that reopens is not undone)."""
        data = self.cleaned_data
        first = {name: data[name] for name in ("impact", "assignee") if self._changed_by_user(name)}
        if first:
            ticket = services.ticket_update(ticket=ticket, actor=actor, **first)
        body = data.get("body") or ""
        if body.strip():
            services.comment_post(
                ticket=ticket,
                author=actor,
                body=body,
                public=data.get("visibility") == "public",
                estimated_resolution_at=data.get("estimated_resolution_at"),
            )
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
