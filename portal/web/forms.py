"""The client portal's forms. Each form checks its own input; the rules that need the
database live in tickets.services, whose DomainError lands on the form through
`domain_error_to_form`."""

from typing import TYPE_CHECKING, cast

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from portal.web.two_factor import two_factor_check, two_factor_enabled
from tickets.errors import DomainError
from tickets.models import ClientSite, Impact, Kind, Role, Status

MAX_FILES = 10


if TYPE_CHECKING:  # what the mixin is mixed into, for the type checker
    _SignInForm = AuthenticationForm
else:
    _SignInForm = forms.Form


class TwoFactorCodeMixin(_SignInForm):
    """The second factor on a sign-in form: asked of accounts that turned it on, checked after
    the password; a wrong code counts toward the lockout."""

    otp_token = forms.CharField(
        label="Two-factor code",
        required=False,
        max_length=32,
        help_text="Only if you turned on two-factor sign-in: the 6 digits from your "
        "authenticator app, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not two_factor_enabled(user):
            return
        code = self.cleaned_data.get("otp_token") or ""
        if not code.strip():
            raise forms.ValidationError(
                "Enter the code from your authenticator app (or a recovery code).",
                code="otp_missing",
            )
        device = two_factor_check(request=self.request, user=user, code=code)
        if device is None:
            raise forms.ValidationError(
                "The two-factor code is not right, or was already used.", code="otp_invalid"
            )
        # django-otp marks the session verified when the sign-in completes.
        user.otp_device = device


class EmailLoginForm(TwoFactorCodeMixin, AuthenticationForm):
    """Django's sign-in form, asking for the email address."""

    # A text input, not type=email: Rx.Health staff sign in with their username here too,
    # which a browser would refuse in an email field.
    username = forms.CharField(
        label="Email",
        max_length=254,
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "username",
                "inputmode": "email",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "The email and password do not match an active account. "
        "Both are case-sensitive for the password.",
    }


class AdminLoginForm(TwoFactorCodeMixin, AdminAuthenticationForm):
    """Admin's sign-in, with the same second factor as the portal's."""


class TwoFactorConfirmForm(forms.Form):
    code = forms.CharField(
        label="Code from the app",
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; the service checks each one's size and real type."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if len(files) > MAX_FILES:
            raise forms.ValidationError(f"Attach at most {MAX_FILES} files at once.")
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


def domain_error_to_form(form: forms.Form, exc: DomainError, aliases: dict | None = None) -> None:
    """Show a service's refusal on the form, beside the field it names when the form has it."""
    field = (aliases or {}).get(exc.field, exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


class TicketCreateForm(forms.Form):
    site: "forms.ModelChoiceField[ClientSite]" = forms.ModelChoiceField(
        queryset=None, empty_label=None, label="Site"
    )
    kind = forms.ChoiceField(choices=Kind.choices, widget=forms.RadioSelect, label="Kind")
    impact = forms.ChoiceField(
        choices=Impact.choices, widget=forms.RadioSelect, required=False, label="Impact"
    )
    title = forms.CharField(max_length=200, label="Title")
    description = forms.CharField(
        max_length=50_000,
        widget=forms.Textarea(attrs={"rows": 8}),
        label="Description",
        help_text="What happened, when it started, who is affected, and what you already tried.",
    )
    attachments = MultipleFileField(label="Attachments")

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["site"]).queryset = sites
        self.site_list = list(sites)
        if len(self.site_list) == 1:
            self.fields["site"].initial = self.site_list[0].pk
            self.fields["site"].widget = forms.HiddenInput()

    def clean(self):
        data = super().clean() or {}
        if data.get("kind") == Kind.INCIDENT and not data.get("impact"):
            self.add_error("impact", "Choose the impact of the incident.")
        if data.get("kind") and data.get("kind") != Kind.INCIDENT:
            data["impact"] = ""
        return data


class ReplyForm(forms.Form):
    body = forms.CharField(
        max_length=50_000, widget=forms.Textarea(attrs={"rows": 5}), label="Your reply"
    )
    attachments = MultipleFileField(label="Attachments")


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[(Status.RESOLVED, "Resolved"), (Status.IN_PROGRESS, "Open")]
    )


class InviteForm(forms.Form):
    name = forms.CharField(label="Name", max_length=150, help_text="First and last name.")
    email = forms.EmailField(label="Email", max_length=254)
    # Viewer by default: filing and replying is a deliberate choice.
    role = forms.ChoiceField(choices=Role.choices, label="Role", initial=Role.VIEWER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, label="Role")


class DashboardFilterForm(forms.Form):
    STATES = [("open", "Open"), ("closed", "Resolved and closed"), ("all", "All")]

    q = forms.CharField(required=False, max_length=200, label="Search reference or title")
    state = forms.ChoiceField(choices=STATES, required=False, label="Show")
    status = forms.ChoiceField(
        choices=[("", "Any status"), *Status.choices], required=False, label="Status"
    )
    kind = forms.ChoiceField(
        choices=[("", "Any kind"), *Kind.choices], required=False, label="Kind"
    )
    site = forms.ChoiceField(choices=[("", "All sites")], required=False, label="Site")

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        site = cast(forms.ChoiceField, self.fields["site"])
        site.choices = [("", "All sites")] + [(s.slug, s.name) for s in sites]

    def filters(self) -> dict:
        """The valid filters only: a bad value in the address is ignored, not an error page."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "q": (data.get("q") or "").strip().replace("\x00", ""),
            "state": data.get("state") or "open",
            "status": data.get("status") or "",
            "kind": data.get("kind") or "",
            "site": data.get("site") or "",
        }
