import django_filters

from tickets.models import Impact, Kind, SLAState, Status, Ticket


class TicketFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    kind = django_filters.MultipleChoiceFilter(choices=Kind.choices)
    impact = django_filters.MultipleChoiceFilter(choices=Impact.choices)
    sla_state = django_filters.MultipleChoiceFilter(choices=SLAState.choices)
    # A slug the caller cannot see simply matches nothing (never "no such site").
    site = django_filters.CharFilter(field_name="site__slug", max_length=60)

    class Meta:
        model = Ticket
        fields = ["status", "kind", "impact", "sla_state", "site"]
