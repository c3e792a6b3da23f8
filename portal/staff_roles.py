"""Rx.Health staff roles, kept as groups and written after every `migrate`.

Every active staff member works the queue (tickets, notifications) whatever their groups; the
groups decide who sees the configuration behind it:

- Support agents: view SLA policies, calendars and the escalation ladder.
- Support leads: also edit them (policies, calendars, levels, contacts, maximums), and see
  the scheduler.
- Operators: the scheduler (django-celery-beat's periodic tasks) and scan runs, to pause or
  retime the scan; view the rest.

Only these three names are managed; permissions added by hand to them stay.
"""

from typing import Any

from django.db.models import Q

AGENT, LEAD, OPERATOR = "Support agents", "Support leads", "Operators"
CONFIG_APPS = ["sla", "escalation"]
SCHEDULER_APP = "django_celery_beat"


def _grants() -> dict[str, Q]:
    view_config = Q(content_type__app_label__in=CONFIG_APPS, codename__startswith="view_")
    all_config = Q(content_type__app_label__in=CONFIG_APPS)
    scheduler = Q(content_type__app_label=SCHEDULER_APP)
    view_scheduler = scheduler & Q(codename__startswith="view_")
    tickets = Q(content_type__app_label="tickets")
    return {
        AGENT: tickets | view_config,
        LEAD: tickets | all_config | view_scheduler,
        OPERATOR: tickets & Q(codename__startswith="view_") | view_config | scheduler,
    }


def staff_roles_sync(**kwargs: Any) -> None:
    """Create the three groups and give each its permissions (idempotent)."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    for label in ["tickets", *CONFIG_APPS, SCHEDULER_APP]:
        create_permissions(apps.get_app_config(label), verbosity=0)
    for name, grant in _grants().items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(grant))
