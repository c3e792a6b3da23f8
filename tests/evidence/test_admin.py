"""The back office shows the evidence but cannot add, change or delete it, superusers
included."""

import pytest
from django.urls import reverse

from evidence.models import EvidenceEntry
from tests.tickets.factories import SuperuserFactory

from .helpers import breached_incident

pytestmark = pytest.mark.django_db


def test_a_superuser_can_read_entries_but_not_add_change_or_delete_them(client, site, pm):
    ticket = breached_incident(pm=pm, site=site)
    entry = EvidenceEntry.objects.filter(ticket=ticket).first()
    assert entry is not None
    client.force_login(SuperuserFactory())
    listing = client.get(reverse("admin:evidence_evidenceentry_changelist"))
    assert listing.status_code == 200
    assert ticket.reference in listing.content.decode()
    page = client.get(reverse("admin:evidence_evidenceentry_change", args=[entry.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.get(reverse("admin:evidence_evidenceentry_add")).status_code == 403
    assert (
        client.get(reverse("admin:evidence_evidenceentry_delete", args=[entry.pk])).status_code
        == 403
    )
    # A forged POST to the change page changes nothing.
    client.post(reverse("admin:evidence_evidenceentry_change", args=[entry.pk]), {"kind": "forged"})
    assert EvidenceEntry.objects.get(pk=entry.pk).kind == entry.kind
    # The bulk delete action is not offered.
    assert "delete_selected" not in listing.content.decode()
