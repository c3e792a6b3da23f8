"""One clock face: how every page and email writes a moment, and in which time zone.

Clients read their site's zone; staff read their own preference, or the ticket's site's zone
when they have none. The zone is always printed beside the time.
"""

import zoneinfo
from datetime import datetime
from functools import lru_cache

UTC = zoneinfo.ZoneInfo("UTC")


def zone_named(name: str | None) -> zoneinfo.ZoneInfo:
    """The zone with this IANA name; UTC for an empty or unknown name."""
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def reading_zone(*, preferred: str | None, site_timezone: str | None) -> zoneinfo.ZoneInfo:
    """The zone a person reads a time in: their own choice, else the site's, else UTC."""
    return zone_named(preferred or site_timezone)


@lru_cache(maxsize=1)
def timezone_choices() -> list[tuple[str, str]]:
    """Every IANA zone as (name, label) for a select list, sorted by name."""
    names = sorted(n for n in zoneinfo.available_timezones() if "/" in n or n == "UTC")
    return [(n, n.replace("_", " ")) for n in names]


def when_text(moment: datetime | None, zone: zoneinfo.ZoneInfo) -> str:
    """'Wed 25 Nov 2026, 14:30 EST': the one date format of pages and emails."""
    if moment is None:
        return ""
    if moment.tzinfo is None:  # as timezone.localtime refuses it, without its cost per call
        raise ValueError("when_text() needs an aware datetime")
    return _minute_text(int(moment.timestamp() // 60), zone)


@lru_cache(maxsize=4096)
def _minute_text(minute: int, zone: zoneinfo.ZoneInfo) -> str:
    """`when_text` of one minute (since the epoch) in one zone. Cached: the text shows only
    the minute, and an outage's thousands of emails name the same few dozen minutes."""
    local = datetime.fromtimestamp(minute * 60, zone)
    return f"{local:%a %d %b %Y, %H:%M} {local.tzname()}"
