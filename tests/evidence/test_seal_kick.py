"""With a real broker and worker, a delivery pass kicks the seal: the attempt it made is in the
chain without anyone calling the seal."""

import pytest
from django.db import transaction

from evidence.models import EvidenceEntry
from tests.portal.test_celery_worker import (
    real_worker,  # noqa: F401 (a fixture)
    staff_alert_enqueue,
)
from tests.tickets.factories import TicketFactory
from tests.waiting import wait_for
from tickets.models import Notification


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
