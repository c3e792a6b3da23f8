import datetime

import factory
from factory.django import DjangoModelFactory

from sla.models import BusinessCalendar, Holiday, WorkingPeriod


class BusinessCalendarFactory(DjangoModelFactory[BusinessCalendar]):
    """Monday to Friday, 08:00 to 18:00 in New York, unless told otherwise."""

    class Meta:
        model = BusinessCalendar
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Business hours {n}")
    timezone = "America/New_York"

    @factory.post_generation
    def weekdays(self: BusinessCalendar, create, extracted, **kwargs):
        if not create:
            return
        hours = kwargs.get("hours", (datetime.time(8), datetime.time(18)))
        for weekday in extracted if extracted is not None else range(5):
            WorkingPeriod.objects.create(
                calendar=self, weekday=weekday, start=hours[0], end=hours[1]
            )


class HolidayFactory(DjangoModelFactory[Holiday]):
    class Meta:
        model = Holiday

    calendar = factory.SubFactory(BusinessCalendarFactory)
    name = "Holiday"
