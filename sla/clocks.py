"""Clock arithmetic: when does a target of N minutes, started at a moment, fall due?

Without a calendar the clock counts elapsed time (24x7). With a business calendar it counts
only working time: the calendar's weekly periods, in its time zone, minus its holidays. Each
period is turned into a real (UTC) interval with `zoneinfo`, so a period that spans a
daylight-saving change counts the hours that really pass (01:00-03:00 is one hour on the
spring-forward night and three on the fall-back night), and arithmetic is exact to the second.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .models import BusinessCalendar

logger = logging.getLogger(__name__)

# How far ahead a calendar is searched for working time before giving up (a calendar whose
# periods were all deleted, or a year of holidays).
MAX_DAYS = 3 * 366
# Where `WorkingTime.of` keeps a calendar's working time on the calendar instance.
_CACHE = "_sla_working_time"


@dataclass(frozen=True)
class WorkingTime:
    """A calendar loaded once: periods per weekday and the holiday dates."""

    tz: ZoneInfo
    periods: dict[int, tuple[tuple[time, time], ...]]
    holidays: frozenset[date]

    @classmethod
    def of(cls, calendar: BusinessCalendar) -> "WorkingTime":
        """The calendar's working time, read once per calendar instance: the scan, the
        escalation step and a policy re-target load their policies (and so each calendar)
        once per batch, so a batch reads a calendar's periods and holidays once, however many
        tickets it times (two queries, none if the caller prefetched them). Like a prefetch,
        it is as fresh as the instance: load the calendar again to see later edits."""
        cached = calendar.__dict__.get(_CACHE)
        if cached is not None:
            return cached
        periods: dict[int, list[tuple[time, time]]] = {}
        for period in calendar.periods.all():
            periods.setdefault(period.weekday, []).append((period.start, period.end))
        working = cls(
            tz=ZoneInfo(calendar.timezone),
            periods={day: tuple(sorted(spans)) for day, spans in periods.items()},
            # .all(), not values_list: a prefetch of the holidays is used, not re-queried.
            holidays=frozenset(holiday.date for holiday in calendar.holidays.all()),
        )
        calendar.__dict__[_CACHE] = working
        return working

    def intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals in UTC, in order, from `start` on (the first one clipped)."""
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        cursor = start
        for _ in range(MAX_DAYS):
            if day not in self.holidays:
                for begin, end in self.periods.get(day.weekday(), ()):
                    begin_at = datetime.combine(day, begin, tzinfo=self.tz).astimezone(UTC)
                    end_at = datetime.combine(day, end, tzinfo=self.tz).astimezone(UTC)
                    begin_at = max(begin_at, cursor)  # clips the start and overlapping periods
                    if end_at <= begin_at:
                        continue
                    yield begin_at, end_at
                    cursor = end_at
            day += timedelta(days=1)


def _working_time(calendar: "BusinessCalendar | WorkingTime | None") -> WorkingTime | None:
    if calendar is None or isinstance(calendar, WorkingTime):
        return calendar
    working = WorkingTime.of(calendar)
    if not working.periods:
        logger.warning("Calendar %s has no working periods; counting elapsed time.", calendar)
        return None
    return working


def deadline_seconds(
    *, start: datetime, seconds: float, calendar: "BusinessCalendar | WorkingTime | None" = None
) -> datetime:
    """The moment `seconds` of counted time after `start`."""
    # Aware arithmetic in UTC: in a zone with DST, `+ timedelta` would count wall-clock time.
    start = start.astimezone(UTC)
    working = _working_time(calendar)
    if working is None:
        return start + timedelta(seconds=seconds)
    remaining = max(seconds, 0)
    for begin, end in working.intervals(start):
        span = (end - begin).total_seconds()
        if remaining <= span:
            return begin + timedelta(seconds=remaining)
        remaining -= span
    logger.warning("No working time within %s days of %s; counting elapsed time.", MAX_DAYS, start)
    return start + timedelta(seconds=seconds)


def deadline(
    *, start: datetime, minutes: int, calendar: "BusinessCalendar | WorkingTime | None" = None
) -> datetime:
    """The moment `minutes` of counted time after `start` (elapsed time without a calendar).

    With a calendar, a start outside working hours counts from the next working moment, and a
    target that ends exactly at the close of a period falls due at that close."""
    return deadline_seconds(start=start, seconds=minutes * 60, calendar=calendar)


def working_seconds(
    *, start: datetime, end: datetime, calendar: "BusinessCalendar | WorkingTime | None" = None
) -> float:
    """Counted seconds between two moments (0 when `end` is not after `start`)."""
    if end <= start:
        return 0.0
    working = _working_time(calendar)
    if working is None:
        return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()
    total = 0.0
    for begin, finish in working.intervals(start):
        if begin >= end:
            break
        total += (min(finish, end) - begin).total_seconds()
    return total


def working_minutes(
    *, start: datetime, end: datetime, calendar: "BusinessCalendar | WorkingTime | None" = None
) -> int:
    """Whole counted minutes between two moments."""
    return int(working_seconds(start=start, end=end, calendar=calendar) // 60)
