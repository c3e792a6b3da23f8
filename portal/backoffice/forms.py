import re
from typing import cast

from django import forms
from django.utils import timezone

from tickets.clockface import timezone_choices
from tickets.models import ClientSite


class MonthForm(forms.Form):
    month = forms.CharField(
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month"}),
        help_text="YYYY-MM, in the site's own time zone.",
    )

    def clean_month(self) -> tuple[int, int]:
        value = self.cleaned_data["month"].strip()
        match = re.fullmatch(r"(\d{4})-(\d{2})", value)
        if not match or not 1 <= int(match[2]) <= 12 or not 2000 <= int(match[1]) <= 2100:
            raise forms.ValidationError("Give the month as YYYY-MM, for example 2026-10.")
        return int(match[1]), int(match[2])


def current_month() -> str:
    """This month so far, as YYYY-MM: what a report opens on."""
    return f"{timezone.now():%Y-%m}"


class ReportForm(MonthForm):
    site = forms.ModelChoiceField(
        queryset=ClientSite.objects.order_by("name"), to_field_name="slug", empty_label=None
    )
    field_order = ["site", "month"]


class PreferencesForm(forms.Form):
    timezone = forms.ChoiceField(
        label="Time zone",
        required=False,
        help_text="Every time in the back office is shown in this zone. Leave it on the "
        "first choice to see each ticket in its site's time zone.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["timezone"]).choices = [
            ("", "Each ticket's site time zone"),
            *timezone_choices(),
        ]
