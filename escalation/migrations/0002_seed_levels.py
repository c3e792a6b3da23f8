"""Seed the four escalation levels with the support document's wording, and how far each kind
of ticket may climb. Data, edited in admin."""

from django.db import migrations

LEVELS = [
    (
        1,
        "Support portal",
        "General requests and Q&A: submit requests through the support portal. "
        "The Rx.Health support queue works them.",
    ),
    (
        2,
        "Project team",
        "Low impact issues: no response within the committed time. Level 1 plus the "
        "Project Team (Tech and/or Clinical Team), or call (646) 969-9939 option 2 for "
        "technical support.",
    ),
    (
        3,
        "Program leads",
        "Medium impact issues: no response on a level 2 issue within the committed time. "
        "Level 2 contacts plus Program Leads (Project Director and Tech Services Director).",
    ),
    (
        4,
        "Executive team",
        "High impact issues: no response on a level 3 issue within the committed time. "
        "Level 3 contacts plus the Rx.Health executive team.",
    ),
]

MAXIMUMS = [
    ("general", "", 2),
    ("task", "", 2),
    ("change", "", 2),
    ("incident", "low", 2),
    ("incident", "medium", 3),
    ("incident", "high", 4),
]


def seed(apps, schema_editor):
    EscalationLevel = apps.get_model("escalation", "EscalationLevel")
    EscalationMaximum = apps.get_model("escalation", "EscalationMaximum")
    for number, name, description in LEVELS:
        EscalationLevel.objects.get_or_create(
            number=number, defaults={"name": name, "description": description}
        )
    for kind, impact, max_level in MAXIMUMS:
        EscalationMaximum.objects.get_or_create(
            kind=kind, impact=impact, defaults={"max_level": max_level}
        )


def unseed(apps, schema_editor):
    apps.get_model("escalation", "EscalationMaximum").objects.all().delete()
    EscalationLevel = apps.get_model("escalation", "EscalationLevel")
    EscalationLevel.objects.filter(contacts__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("escalation", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
