"""The periodic tasks, declared here and only here. After every `migrate` they are written
into django-celery-beat's tables, so operators see them under Periodic tasks in admin and can
pause or retime them there; an operator's change to the interval or the enabled flag is kept."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class PeriodicTaskSpec:
    name: str
    task: str
    every_seconds: int
    description: str


def periodic_task_specs() -> list[PeriodicTaskSpec]:
    return [
        PeriodicTaskSpec(
            name="SLA scan",
            task="sla.tasks.sla_scan",
            every_seconds=settings.SLA_SCAN_INTERVAL_SECONDS,
            description=(
                "Clocks, at-risk warnings, breaches, client updates and escalations; then "
                "re-sends notifications left pending. Same code as `manage.py run_sla_scan`."
            ),
        ),
        PeriodicTaskSpec(
            name="Inbound mail",
            task="inbound.tasks.inbound_mail_fetch",
            every_seconds=settings.INBOUND_FETCH_INTERVAL_SECONDS,
            description=(
                "Reads replies by email from the support mailbox (INBOUND_IMAP_URL; does "
                "nothing when it is unset). Same code as `manage.py fetch_inbound_mail`."
            ),
        ),
        PeriodicTaskSpec(
            name="Evidence seal",
            task="evidence.tasks.evidence_seal",
            every_seconds=settings.EVIDENCE_SEAL_INTERVAL_SECONDS,
            description=(
                "Appends new SLA facts (history, escalations, send attempts) to each ticket's "
                "hash chain; also runs after every scan and delivery pass."
            ),
        ),
    ]


def periodic_tasks_sync(**kwargs: Any) -> None:
    """Create the declared periodic tasks that are missing (idempotent)."""
    from django.db import DEFAULT_DB_ALIAS
    from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

    using = kwargs.get("using") or DEFAULT_DB_ALIAS
    tasks = PeriodicTask.objects.using(using)
    for spec in periodic_task_specs():
        if tasks.filter(name=spec.name).exists():
            # Keep what an operator set in admin; only repair a renamed task path.
            if tasks.filter(name=spec.name).exclude(task=spec.task).update(task=spec.task):
                PeriodicTasks.update_changed()  # a queryset update does not tell beat by itself
            continue
        schedule, _ = IntervalSchedule.objects.using(using).get_or_create(
            every=spec.every_seconds, period=IntervalSchedule.SECONDS
        )
        tasks.create(
            name=spec.name,
            task=spec.task,
            interval=schedule,
            description=spec.description,
            enabled=True,
        )
