"""Clock arithmetic: when does a target of N minutes, started at a moment, fall due?

The foundation counts elapsed time only; the SLA engine adds business calendars behind the
same signature.
"""

from datetime import datetime, timedelta

from .models import BusinessCalendar


def deadline(
    *, start: datetime, minutes: int, calendar: BusinessCalendar | None = None
) -> datetime:
    """The moment `minutes` of counted time after `start` (elapsed time without a calendar)."""
    if calendar is not None:
        raise NotImplementedError("Business calendars arrive with the SLA engine.")
    return start + timedelta(minutes=minutes)
