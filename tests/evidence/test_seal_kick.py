"""With a real broker and worker, a delivery pass kicks the seal: the attempt it made is in the
chain without anyone calling the seal. A kick never waits behind a seal that is running."""

import time

import pytest
from django.db import connection, transaction

from evidence.models import EvidenceEntry
from evidence.services import SEAL_LOCK_KEY, evidence_seal
from tests.portal.test_celery_worker import (
    real_worker,  # noqa: F401 (a fixture)
    staff_alert_enqueue,
)
from tests.sla.helpers import file_ticket
from tests.tickets.factories import TicketFactory
from tests.waiting import held_elsewhere, wait_for
from tickets.models import Notification

from .conftest import MONDAY


@pytest.mark.postgres  # a worker thread writing while the test reads: SQLite locks the table
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("real_worker", ["redis"], indirect=True)
def test_a_delivery_pass_on_a_worker_seals_its_send_attempts(real_worker):  # noqa: F811
    ticket = TicketFactory()
    with transaction.atomic():
        staff_alert_enqueue(ticket)
    row = Notification.objects.get(ticket=ticket)
    assert wait_for(
        lambda: EvidenceEntry.objects.filter(source=f"notification:{row.pk}:attempt:1").exists()
    ), "the delivery pass did not kick the seal within 30 s"
    entry = EvidenceEntry.objects.get(source=f"notification:{row.pk}:attempt:1")
    assert entry.kind == "message.sent"
    assert entry.payload["recipient"] == "queue@rxhealth.example"


@pytest.mark.postgres  # the seal's lock is PostgreSQL's
@pytest.mark.django_db(transaction=True)
def test_a_kick_while_a_seal_runs_returns_at_once_and_the_next_kick_seals(site, pm):
    """During an outage every delivery pass kicks the seal: a kick that finds one running
    must not hold its worker on the lock while mail is waiting."""
    ticket = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)

    def running_seal():  # holds the seal's lock, as a long seal does
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])

    with held_elsewhere(running_seal):
        started = time.monotonic()
        assert evidence_seal(wait=False) == 0
        assert time.monotonic() - started < 5
        assert not EvidenceEntry.objects.filter(ticket_id=ticket.pk).exists()
    assert evidence_seal(wait=False) > 0
    assert EvidenceEntry.objects.filter(ticket_id=ticket.pk, kind="ticket.created").exists()
