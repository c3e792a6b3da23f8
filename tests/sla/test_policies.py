"""Time travel through every row of the policy table: targets, at-risk, breach, updates."""

import datetime

import pytest

from sla.models import SLAPolicy
from tests.sla.conftest import MONDAY
from tests.sla.helpers import file_ticket, fresh, scan_at
from tickets.models import Notification, SLAState

pytestmark = pytest.mark.django_db

H = datetime.timedelta(hours=1)
M = datetime.timedelta(minutes=1)

ROWS = [
    # kind, impact, first response, client update every
    ("general", "", 8 * H, None),
    ("task", "", 8 * H, None),
    ("change", "", 8 * H, None),
    ("incident", "high", 1 * H, 1 * H),
    ("incident", "medium", 8 * H, 8 * H),
    ("incident", "low", 16 * H, 16 * H),
]


def events(ticket, event):
    return list(Notification.objects.filter(ticket=ticket, event=event))


@pytest.mark.parametrize(("kind", "impact", "response", "update"), ROWS)
def test_each_policy_row_sets_its_first_response_target_from_the_seeded_data(
    site, pm, kind, impact, response, update
):
    ticket = file_ticket(actor=pm, site=site, kind=kind, impact=impact, at=MONDAY)

    assert ticket.response_due_at == MONDAY + response
    assert ticket.response_warn_at == MONDAY + response * 0.75
    assert ticket.next_update_due_at == (MONDAY + update if update else None)
    assert ticket.sla_state == SLAState.ON_TRACK
    assert ticket.sla_next_check_at == MONDAY + response * 0.75


@pytest.mark.parametrize(("kind", "impact", "response", "update"), ROWS)
def test_each_policy_row_warns_at_75_percent_and_breaches_once_at_its_target(
    site, pm, kind, impact, response, update
):
    ticket = file_ticket(actor=pm, site=site, kind=kind, impact=impact, at=MONDAY)
    warn = MONDAY + response * 0.75

    scan_at(warn - M)
    assert events(ticket, "response_at_risk") == []

    scan_at(warn)
    (warning,) = events(ticket, "response_at_risk")
    assert warning.recipient == "queue@rxhealth.example"  # nobody assigned yet
    assert fresh(ticket).sla_state == SLAState.AT_RISK

    scan_at(MONDAY + response - M)
    assert fresh(ticket).response_breached_at is None

    scan_at(MONDAY + response)
    scan_at(MONDAY + response + 5 * M)
    ticket = fresh(ticket)
    assert ticket.response_breached_at == MONDAY + response
    assert ticket.sla_state == SLAState.BREACHED
    assert len(events(ticket, "response_breached")) == 1
    assert ticket.events.filter(action="sla", message__contains="missed").count() == 1


@pytest.mark.parametrize(("impact", "every"), [("high", 1 * H), ("medium", 8 * H), ("low", 16 * H)])
def test_incidents_without_a_human_update_get_automated_updates_on_their_cadence(
    site, pm, it, impact, every
):
    ticket = file_ticket(actor=pm, site=site, impact=impact, at=MONDAY)

    scan_at(MONDAY + every - 16 * M)
    assert events(ticket, "client_update") == []
    scan_at(MONDAY + every - 15 * M)  # the assignee (here the queue) hears 15 minutes before
    assert [n.recipient for n in events(ticket, "update_due_soon")] == ["queue@rxhealth.example"]

    scan_at(MONDAY + every)
    first = events(ticket, "client_update")
    assert sorted(n.recipient for n in first) == ["it@stmarys.example", "pm@stmarys.example"]
    ticket = fresh(ticket)
    assert ticket.client_update_count == 1
    assert ticket.next_update_due_at == MONDAY + 2 * every

    scan_at(MONDAY + 2 * every - 15 * M)
    scan_at(MONDAY + 2 * every)
    assert fresh(ticket).client_update_count == 2
    assert len(events(ticket, "client_update")) == 4
    assert len(events(ticket, "update_due_soon")) == 2


@pytest.mark.parametrize("kind", ["general", "task", "change"])
def test_requests_get_no_client_update_cadence(site, pm, kind):
    ticket = file_ticket(actor=pm, site=site, kind=kind, at=MONDAY)
    scan_at(MONDAY + 48 * H)
    assert events(ticket, "client_update") == []
    assert fresh(ticket).sla_next_check_at is None  # breached; nothing more to watch


def test_the_at_risk_share_is_data(site, pm):
    SLAPolicy.objects.filter(kind="general").update(at_risk_percent=50)
    ticket = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
    assert ticket.response_warn_at == MONDAY + 4 * H
