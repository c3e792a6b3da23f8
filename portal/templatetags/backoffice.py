from datetime import timedelta

from django import template

from portal.backoffice.formatting import duration_short
from tickets.clockface import reading_zone, when_text

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """A duration as `1 h 05 min`; empty for None."""
    return "" if value is None else duration_short(value)


@register.simple_tag(takes_context=True)
def staff_time(context, moment, site=None) -> str:
    """`{% staff_time ticket.due_at ticket.site %}`: the one clock face, in the staff member's
    chosen zone, else the site's, else UTC; "—" for no time."""
    request = context.get("request")
    preferred = getattr(request, "staff_timezone", "") if request is not None else ""
    zone = reading_zone(preferred=preferred, site_timezone=getattr(site, "timezone", ""))
    return when_text(moment, zone) or "—"
