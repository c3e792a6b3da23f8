import pytest
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from portal.schedule import periodic_task_specs

pytestmark = pytest.mark.django_db


def scan_tasks():
    return PeriodicTask.objects.filter(task="sla.tasks.sla_scan")


def test_migrate_registers_the_sla_scan_once_every_minute():
    assert scan_tasks().count() == 1
    task = scan_tasks().get()
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (60, IntervalSchedule.SECONDS)
    assert task.name in [spec.name for spec in periodic_task_specs()]


def test_migrate_registers_the_inbound_mail_pass_next_to_the_scan():
    task = PeriodicTask.objects.get(task="inbound.tasks.inbound_mail_fetch")
    assert task.enabled
    assert task.name == "Inbound mail"
    assert (task.interval.every, task.interval.period) == (60, IntervalSchedule.SECONDS)


def test_a_second_migrate_keeps_one_task_and_the_operators_changes():
    task = scan_tasks().get()
    slower, _ = IntervalSchedule.objects.get_or_create(every=5, period=IntervalSchedule.MINUTES)
    task.enabled = False
    task.interval = slower
    task.save()

    call_command("migrate", verbosity=0)

    assert scan_tasks().count() == 1
    task = scan_tasks().get()
    assert task.enabled is False
    assert (task.interval.every, task.interval.period) == (5, IntervalSchedule.MINUTES)


def test_migrate_recreates_the_task_if_an_operator_deleted_it():
    scan_tasks().delete()
    call_command("migrate", verbosity=0)
    assert scan_tasks().count() == 1
