"""The faces of the scan: the Celery task beat runs and `manage.py run_sla_scan`."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from sla.tasks import sla_scan
from tests.sla.conftest import MONDAY
from tests.sla.helpers import file_ticket, fresh
from tickets.models import Notification

H = datetime.timedelta(hours=1)


@pytest.mark.django_db
def test_run_sla_scan_does_one_pass_delivers_what_is_pending_and_prints_counts(site, pm, it):
    ticket = file_ticket(actor=pm, site=site, impact="high", at=MONDAY)
    out = StringIO()
    with time_machine.travel(MONDAY + H, tick=False):
        call_command("run_sla_scan", stdout=out)
    printed = out.getvalue()
    assert "breaches: 1" in printed
    assert "client_updates: 1" in printed
    # receipt, staff alert, breach warning, two client updates
    assert "notifications_sent: 5" in printed
    assert "notifications_failed: 0" in printed
    assert "notifications_left_for_retry: 0" in printed
    assert fresh(ticket).client_update_count == 1
    assert not Notification.objects.filter(status="pending").exists()
    # The staff queue hears of the new ticket and of its breach in one message.
    assert sorted(m.to[0] for m in mail.outbox) == [
        "it@stmarys.example",
        "pm@stmarys.example",
        "pm@stmarys.example",
        "queue@rxhealth.example",
    ]


@pytest.mark.django_db(transaction=True)
def test_the_periodic_task_scans_and_sweeps_rows_left_pending(site, pm):
    ticket = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
    # A row whose delivery message was lost: written, never kicked.
    Notification.objects.create(
        ticket=ticket, event="public_reply", sequence=99, recipient="pm@stmarys.example",
        subject="[x] lost", next_attempt_at=MONDAY,
    )  # fmt: skip
    mail.outbox.clear()
    with time_machine.travel(MONDAY + 8 * H, tick=False):
        sla_scan.delay()
    assert "[x] lost" in [m.subject for m in mail.outbox]
    assert fresh(ticket).response_breached_at == MONDAY + 8 * H
    assert not Notification.objects.filter(status="pending").exists()
