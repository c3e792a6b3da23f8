"""Retention: nothing is purged unless asked; a purge removes whole chains of tickets done
before the retention period, and what is kept still verifies."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from evidence.models import EvidenceChain, EvidenceEntry
from tickets.models import Status, Ticket

from .conftest import MONDAY
from .helpers import HOUR, breached_incident, seal_at

pytestmark = pytest.mark.django_db

LATER = MONDAY + datetime.timedelta(days=8 * 365)


def run(*args) -> str:
    out = StringIO()
    with time_machine.travel(LATER, tick=False):
        call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def old_and_recent(site, pm):
    old = breached_incident(pm=pm, site=site)
    Ticket.objects.filter(pk=old.pk).update(
        status=Status.CLOSED, resolved_at=MONDAY + 2 * HOUR, closed_at=MONDAY + 3 * HOUR
    )
    recent_at = LATER - datetime.timedelta(days=30)
    recent = breached_incident(pm=pm, site=site, at=recent_at)
    Ticket.objects.filter(pk=recent.pk).update(
        status=Status.CLOSED, resolved_at=recent_at + 2 * HOUR, closed_at=recent_at + 3 * HOUR
    )
    return old, recent


def test_the_purge_removes_nothing_without_confirm(settings, old_and_recent):
    assert settings.EVIDENCE_RETENTION_DAYS == 7 * 365 + 2
    before = EvidenceEntry.objects.count()
    out = run("purge_evidence")
    assert "1 chain(s)" in out and "Nothing was removed" in out
    assert EvidenceEntry.objects.count() == before


def test_a_confirmed_purge_removes_whole_old_chains_and_the_rest_still_verifies(old_and_recent):
    old, recent = old_and_recent
    recent_entries = EvidenceEntry.objects.filter(ticket=recent).count()
    out = run("purge_evidence", "--confirm")
    assert "of 1 chain(s)" in out
    assert not EvidenceEntry.objects.filter(ticket=old).exists()
    assert EvidenceEntry.objects.filter(ticket=recent).count() == recent_entries
    assert EvidenceChain.objects.get(ticket=old).purged_at is not None
    verified = run("verify_evidence")
    assert "1 purged under retention" in verified and "Every chain verifies." in verified
    # A later seal does not start the purged chain again.
    seal_at(LATER + HOUR)
    assert not EvidenceEntry.objects.filter(ticket=old).exists()


def test_a_shorter_retention_setting_is_honoured(settings, old_and_recent):
    settings.EVIDENCE_RETENTION_DAYS = 10
    assert "2 chain(s)" in run("purge_evidence")


def test_export_before_purge_writes_the_months_json(tmp_path, site, old_and_recent):
    target = tmp_path / "pack.json"
    call_command("export_evidence", "--site", site.slug, "--month", "2026-11", "--output", target)
    assert '"ticket": "' in target.read_text()
    with pytest.raises(Exception, match="YYYY-MM"):
        call_command("export_evidence", "--site", site.slug, "--month", "November")
