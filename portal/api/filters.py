from datetime import UTC

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from tickets.models import Impact, Kind, SLAState, Status, Ticket
from tickets.selectors import tickets_search


class UTCIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 in, UTC out: the database refuses some offsets the format allows (-21:57)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError("Enter a date and time within the years 1-9999.") from None


class UTCIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCIsoDateTimeField


class TicketFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    kind = django_filters.MultipleChoiceFilter(choices=Kind.choices)
    impact = django_filters.MultipleChoiceFilter(choices=Impact.choices)
    sla_state = django_filters.MultipleChoiceFilter(choices=SLAState.choices)
    # A slug the caller cannot see simply matches nothing (never "no such site").
    site = django_filters.CharFilter(field_name="site__slug", max_length=60)
    created_after = UTCIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UTCIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = UTCIsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    search = django_filters.CharFilter(
        method="search_filter",
        max_length=200,
        help_text="A reference or JIRA key (exact), or words of the title.",
    )

    class Meta:
        model = Ticket
        fields = [
            "status",
            "kind",
            "impact",
            "sla_state",
            "site",
            "created_after",
            "created_before",
            "updated_after",
            "search",
        ]

    def search_filter(self, queryset, name, value):
        return tickets_search(queryset, term=value)
