"""Each ticket records which version of its SLA policy (and calendar) it ran on, and since
when; a policy edit while it is open moves it to the new version; the back office says so."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from history.models import Version
from sla.models import BusinessCalendar, SLAPolicy
from sla.policy_runs import policy_run_current, policy_runs_of
from tests.sla.conftest import MONDAY
from tests.sla.helpers import file_ticket, fresh
from tests.sla.test_admin import high_policy_post
from tests.tickets.factories import SuperuserFactory
from tickets import services

pytestmark = pytest.mark.django_db

EDITED = MONDAY + datetime.timedelta(minutes=5)


def policy_numbers(ticket) -> list[int | None]:
    """The policy version numbers the ticket ran on, latest first."""
    runs = policy_runs_of(ticket=ticket)
    return [r.policy_version.number if r.policy_version else None for r in runs]


def test_a_ticket_runs_on_the_policy_version_in_force_and_moves_when_it_is_edited(
    client, site, pm, django_capture_on_commit_callbacks
):
    ticket = file_ticket(actor=pm, site=site, impact="high", at=MONDAY)
    policy = SLAPolicy.objects.get(kind="incident", impact="high")
    before = policy_run_current(ticket=ticket)
    assert before is not None and before.policy_version is not None
    assert (before.policy, before.policy_version.number, before.since) == (policy, 1, MONDAY)

    client.force_login(SuperuserFactory())
    with (
        time_machine.travel(EDITED, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert high_policy_post(client, policy, first_response_hours="0.5").status_code == 302
    after = policy_run_current(ticket=ticket)
    assert after is not None and after.policy_version is not None
    assert (after.policy_version.number, after.since) == (2, EDITED)
    assert after.policy_version.snapshot["first_response_minutes"] == 30
    assert policy_numbers(ticket) == [2, 1]
    assert fresh(ticket).response_due_at == MONDAY + datetime.timedelta(minutes=30)

    # A ticket filed afterwards starts on version 2; nothing re-targets it twice.
    later = file_ticket(actor=pm, site=site, impact="high", at=EDITED)
    assert policy_numbers(later) == [2]

    with time_machine.travel(EDITED, tick=False):
        page = client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    text = page.content.decode()
    assert f"SLA policy {policy}, version 2</a>, since Mon 23 Nov 2026, 09:05 EST" in text
    assert reverse("admin:history_version_change", args=[after.policy_version.pk]) in text
    assert "Before:" in text and "version 1" in text


def test_an_impact_change_moves_the_ticket_to_the_other_policys_version(site, pm, agent):
    ticket = file_ticket(actor=pm, site=site, impact="medium", at=MONDAY)
    with time_machine.travel(EDITED, tick=False):
        services.ticket_impact_change(ticket=fresh(ticket), actor=agent, impact="high")
    current = policy_run_current(ticket=ticket)
    assert current is not None
    assert current.policy == SLAPolicy.objects.get(kind="incident", impact="high")
    assert current.since == EDITED
    assert len(policy_runs_of(ticket=ticket)) == 2


def test_a_calendar_edit_records_the_calendar_version_the_ticket_counts_in(
    site, pm, django_capture_on_commit_callbacks
):
    calendar = BusinessCalendar.objects.create(name="Always", timezone="UTC")
    for weekday in range(7):
        calendar.periods.create(weekday=weekday, start=datetime.time(0), end=datetime.time(23))
    policy = SLAPolicy.objects.get(kind="general")
    policy.calendar = calendar
    policy.save()
    ticket = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
    first = policy_run_current(ticket=ticket)
    assert first is not None and first.calendar_version is not None

    from sla.services import sla_calendar_changed

    with (
        time_machine.travel(EDITED, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        calendar.holidays.create(date=datetime.date(2026, 11, 26), name="Thanksgiving")
        sla_calendar_changed(calendar=calendar)
    current = policy_run_current(ticket=ticket)
    assert current is not None and current.calendar_version is not None
    assert current.calendar_version.number == first.calendar_version.number + 1
    assert current.policy_version == first.policy_version
    assert Version.objects.get(pk=current.calendar_version.pk).changed_fields == ["holidays"]
