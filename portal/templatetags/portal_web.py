"""Template filters of the client portal: times in the site's time zone, durations."""

import zoneinfo
from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

from tickets.clockface import when_text, zone_named

register = template.Library()


def _zone(site) -> zoneinfo.ZoneInfo:
    return zone_named(getattr(site, "timezone", ""))


@register.filter
def site_time(value: datetime | None, site) -> str:
    """'Wed 25 Nov 2026, 14:05 EST' in the site's time zone."""
    return when_text(value, _zone(site))


@register.filter
def site_clock(value: datetime | None, site) -> str:
    """'14:05 EST' when the time is today at the site, else with the date."""
    if value is None:
        return ""
    zone = _zone(site)
    local = timezone.localtime(value, zone)
    if local.date() == timezone.localtime(timezone.now(), zone).date():
        return f"{local:%H:%M} {local.tzname()}"
    return f"{local:%a %d %b, %H:%M} {local.tzname()}"


@register.filter
def relative(value: datetime | None) -> str:
    """'in 45 minutes' or '2 hours ago'."""
    if value is None:
        return ""
    now = timezone.now()
    if value >= now:
        return f"in {timeuntil(value, now, depth=1)}"
    return f"{timesince(value, now, depth=1)} ago"


@register.filter
def minutes_text(minutes: int | None) -> str:
    """120 -> '2 hours', 90 -> '1 hour 30 minutes', 1440 -> '24 hours'."""
    if not minutes:
        return ""
    hours, rest = divmod(int(minutes), 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if rest:
        parts.append(f"{rest} minute{'s' if rest != 1 else ''}")
    return " ".join(parts)


@register.filter
def tel_href(phone: str) -> str:
    """'(646) 969-9939 option 2' -> 'tel:+16469699939,2' (a pause, then the option)."""
    number, _, option = (phone or "").lower().partition("option")
    digits = "".join(c for c in number if c.isdigit())
    if len(digits) == 10:
        digits = "1" + digits
    option_digits = "".join(c for c in option if c.isdigit())
    return f"tel:+{digits}" + (f",{option_digits}" if option_digits else "")
