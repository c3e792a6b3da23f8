"""Business calendars: exact to the minute, across weekends, holidays and both DST changes."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from sla.clocks import deadline, working_minutes
from sla.models import WorkingPeriod
from tests.sla.factories import BusinessCalendarFactory, HolidayFactory

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
UTC = datetime.UTC


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=NY)


def test_without_a_calendar_the_clock_counts_elapsed_time():
    start = ny(2027, 3, 13, 23, 30)  # across the spring-forward night: 23:30 EST
    due = deadline(start=start, minutes=8 * 60)
    assert due == datetime.datetime(2027, 3, 14, 12, 30, tzinfo=UTC)
    assert due == ny(2027, 3, 14, 8, 30)  # 08:30 EDT: eight real hours, not wall-clock ones


def test_eight_working_hours_filed_friday_evening_fall_due_monday_afternoon():
    calendar = BusinessCalendarFactory()
    # Friday 17:00: one hour left on Friday, seven on Monday.
    assert deadline(start=ny(2026, 11, 20, 17, 0), minutes=480, calendar=calendar) == ny(
        2026, 11, 23, 15, 0
    )


def test_a_target_ending_at_closing_time_falls_due_at_closing_time():
    calendar = BusinessCalendarFactory()
    assert deadline(start=ny(2026, 11, 23, 8, 0), minutes=600, calendar=calendar) == ny(
        2026, 11, 23, 18, 0
    )
    assert deadline(start=ny(2026, 11, 23, 8, 0), minutes=601, calendar=calendar) == ny(
        2026, 11, 24, 8, 1
    )


def test_filed_outside_working_hours_the_clock_starts_at_the_next_opening():
    calendar = BusinessCalendarFactory()
    assert deadline(start=ny(2026, 11, 21, 3, 17), minutes=1, calendar=calendar) == ny(
        2026, 11, 23, 8, 1
    )


def test_holidays_do_not_count():
    calendar = BusinessCalendarFactory()
    HolidayFactory(calendar=calendar, date=datetime.date(2026, 11, 26), name="Thanksgiving")
    HolidayFactory(calendar=calendar, date=datetime.date(2026, 11, 27), name="Day after")
    # Wednesday 16:00: two hours on Wednesday, then Monday from 08:00.
    assert deadline(start=ny(2026, 11, 25, 16, 0), minutes=480, calendar=calendar) == ny(
        2026, 11, 30, 14, 0
    )


def test_spring_forward_weekend_is_exact_to_the_minute():
    calendar = BusinessCalendarFactory()
    # Friday 12 March 2027 17:00 EST; clocks go forward on Sunday 14 March.
    due = deadline(start=ny(2027, 3, 12, 17, 0), minutes=480, calendar=calendar)
    assert due == ny(2027, 3, 15, 15, 0)
    assert due.astimezone(UTC) == datetime.datetime(2027, 3, 15, 19, 0, tzinfo=UTC)  # EDT


def test_fall_back_weekend_is_exact_to_the_minute():
    calendar = BusinessCalendarFactory()
    # Friday 5 November 2027 17:00 EDT; clocks go back on Sunday 7 November.
    due = deadline(start=ny(2027, 11, 5, 17, 0), minutes=480, calendar=calendar)
    assert due == ny(2027, 11, 8, 15, 0)
    assert due.astimezone(UTC) == datetime.datetime(2027, 11, 8, 20, 0, tzinfo=UTC)  # EST


def test_a_night_shift_across_the_spring_forward_hour_has_one_hour_less():
    calendar = BusinessCalendarFactory(
        weekdays=[6], weekdays__hours=(datetime.time(0), datetime.time(6))
    )
    sunday = ny(2027, 3, 14, 0, 0)
    assert working_minutes(start=sunday, end=ny(2027, 3, 14, 6, 0), calendar=calendar) == 300
    assert deadline(start=sunday, minutes=300, calendar=calendar) == ny(2027, 3, 14, 6, 0)
    assert deadline(start=sunday, minutes=301, calendar=calendar) == ny(2027, 3, 21, 0, 1)


def test_a_night_shift_across_the_fall_back_hour_has_one_hour_more():
    calendar = BusinessCalendarFactory(
        weekdays=[6], weekdays__hours=(datetime.time(0), datetime.time(6))
    )
    sunday = ny(2027, 11, 7, 0, 0)
    assert working_minutes(start=sunday, end=ny(2027, 11, 7, 6, 0), calendar=calendar) == 420
    assert deadline(start=sunday, minutes=420, calendar=calendar) == ny(2027, 11, 7, 6, 0)
    # 02:30 is reached twice; counting real minutes, 150 minutes lands on the first 01:30 + 60.
    first_130 = datetime.datetime(2027, 11, 7, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert deadline(start=sunday, minutes=90, calendar=calendar) == first_130


def test_working_minutes_between_two_moments_skip_nights_weekends_and_holidays():
    calendar = BusinessCalendarFactory()
    HolidayFactory(calendar=calendar, date=datetime.date(2026, 11, 23), name="Closed")
    assert (
        working_minutes(
            start=ny(2026, 11, 20, 17, 30), end=ny(2026, 11, 24, 9, 15), calendar=calendar
        )
        == 30 + 75
    )


def test_calendars_in_other_time_zones_count_their_own_hours():
    calendar = BusinessCalendarFactory(timezone="Europe/London")
    london = ZoneInfo("Europe/London")
    start = datetime.datetime(2026, 11, 23, 17, 0, tzinfo=london)
    assert deadline(start=start, minutes=120, calendar=calendar) == datetime.datetime(
        2026, 11, 24, 9, 0, tzinfo=london
    )


def test_a_calendar_without_working_periods_falls_back_to_elapsed_time():
    calendar = BusinessCalendarFactory(weekdays=[])
    assert not WorkingPeriod.objects.filter(calendar=calendar).exists()
    start = ny(2026, 11, 23, 9, 0)
    assert deadline(start=start, minutes=60, calendar=calendar) == ny(2026, 11, 23, 10, 0)
