"""Seed the six commitments of the support document, and an example business calendar.

Data, not code: support staff edit them in admin. Reversing removes only rows still as seeded.
"""

import datetime

from django.db import migrations

POLICIES = [
    # kind, impact, first response (minutes), needs an estimate, client update every (minutes)
    ("general", "", 8 * 60, False, None),
    ("task", "", 8 * 60, True, None),
    ("change", "", 8 * 60, True, None),
    ("incident", "high", 60, False, 60),
    ("incident", "medium", 8 * 60, False, 8 * 60),
    ("incident", "low", 16 * 60, False, 16 * 60),
]


def seed(apps, schema_editor):
    SLAPolicy = apps.get_model("sla", "SLAPolicy")
    BusinessCalendar = apps.get_model("sla", "BusinessCalendar")
    WorkingPeriod = apps.get_model("sla", "WorkingPeriod")
    for kind, impact, response, estimate, update in POLICIES:
        SLAPolicy.objects.get_or_create(
            kind=kind,
            impact=impact,
            defaults={
                "first_response_minutes": response,
                "requires_estimate": estimate,
                "update_every_minutes": update,
                "at_risk_percent": 75,
            },
        )
    calendar, created = BusinessCalendar.objects.get_or_create(
        name="US Eastern business hours",
        defaults={
            "timezone": "America/New_York",
            "description": "Monday to Friday, 08:00 to 18:00 Eastern. An example; no policy "
            "uses it until one names it.",
        },
    )
    if created:
        for weekday in range(5):
            WorkingPeriod.objects.create(
                calendar=calendar,
                weekday=weekday,
                start=datetime.time(8, 0),
                end=datetime.time(18, 0),
            )


def unseed(apps, schema_editor):
    SLAPolicy = apps.get_model("sla", "SLAPolicy")
    for kind, impact, response, estimate, update in POLICIES:
        SLAPolicy.objects.filter(
            kind=kind,
            impact=impact,
            first_response_minutes=response,
            requires_estimate=estimate,
            update_every_minutes=update,
        ).delete()


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
