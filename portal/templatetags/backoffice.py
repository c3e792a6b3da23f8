from datetime import timedelta

from django import template

from portal.backoffice.formatting import duration_short

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """A duration as `1 h 05 min`; empty for None."""
    return "" if value is None else duration_short(value)
