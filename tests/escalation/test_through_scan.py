"""The ladder end to end: tickets filed through the services (the SLA engine sets their
clocks), then `manage.py run_sla_scan` run as beat would, travelling in time."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from escalation.models import EscalationRecord
from sla.scan import sla_scan_run
from tests.tickets.factories import MembershipFactory, StaffFactory
from tickets import services
from tickets.models import Kind, Role, Ticket

from .conftest import T0
from .factories import EscalationContactFactory

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


@pytest.fixture
def pm(site):
    return MembershipFactory(site=site, role=Role.PM, user__email="pm@stmarys.example").user


@pytest.fixture
def contacts(site):
    return [
        EscalationContactFactory(at=2, site=site, email="team@rxhealth.example"),
        EscalationContactFactory(at=3, email="director@rxhealth.example"),
        EscalationContactFactory(at=4, email="exec@rxhealth.example"),
    ]


def file(pm, site, *, kind=Kind.INCIDENT, impact="high") -> Ticket:
    with time_machine.travel(T0, tick=False):
        return services.ticket_create(
            actor=pm,
            site=site,
            kind=kind,
            impact=impact if kind == Kind.INCIDENT else "",
            title="Pharmacy interface down",
            description="Orders are not reaching the pharmacy system.",
        )


def run_scan_at(when) -> str:
    out = StringIO()
    with time_machine.travel(when, tick=False):
        call_command("run_sla_scan", stdout=out)
    return out.getvalue()


def level(ticket) -> int:
    return Ticket.objects.values_list("escalation_level", flat=True).get(pk=ticket.pk)


def test_high_incident_without_response_is_at_level_2_3_4_after_1_2_3_hours(pm, site, contacts):
    ticket = file(pm, site)
    assert ticket.escalation_level == 1

    run_scan_at(T0 + HOUR - MINUTE)
    assert level(ticket) == 1
    run_scan_at(T0 + HOUR)
    assert level(ticket) == 2
    run_scan_at(T0 + 2 * HOUR - MINUTE)
    assert level(ticket) == 2
    run_scan_at(T0 + 2 * HOUR)
    assert level(ticket) == 3
    run_scan_at(T0 + 3 * HOUR)
    assert level(ticket) == 4
    for later in (4, 6, 30):
        run_scan_at(T0 + later * HOUR)
    assert level(ticket) == 4

    # Each contact heard once per level reached, from the level they belong to upwards.
    heard = [
        (m.to[0]) for m in mail.outbox if ticket.reference in m.subject and "evel" in m.subject
    ]
    assert sorted(heard) == sorted(
        ["team@rxhealth.example"] * 3
        + ["director@rxhealth.example"] * 2
        + ["exec@rxhealth.example"]
    )
    reached = EscalationRecord.objects.filter(ticket=ticket).order_by("level")
    assert [(r.level, r.reached_at) for r in reached] == [
        (2, T0 + HOUR),
        (3, T0 + 2 * HOUR),
        (4, T0 + 3 * HOUR),
    ]


@pytest.mark.parametrize(
    ("kind", "impact", "window_hours", "top"),
    [
        (Kind.INCIDENT, "medium", 8, 3),
        (Kind.INCIDENT, "low", 16, 2),
        (Kind.GENERAL, "", 8, 2),
        (Kind.TASK, "", 8, 2),
        (Kind.CHANGE, "", 8, 2),
    ],
)
def test_each_kind_climbs_one_level_per_window_up_to_its_maximum(
    pm, site, contacts, kind, impact, window_hours, top
):
    ticket = file(pm, site, kind=kind, impact=impact)
    window = window_hours * HOUR
    run_scan_at(T0 + window - MINUTE)
    assert level(ticket) == 1
    for n in range(1, 5):
        run_scan_at(T0 + n * window)
        assert level(ticket) == min(1 + n, top), n
    assert level(ticket) == top


def test_a_response_stops_the_climb(pm, site, contacts):
    ticket = file(pm, site)
    run_scan_at(T0 + HOUR)
    assert level(ticket) == 2
    with time_machine.travel(T0 + 90 * MINUTE, tick=False):
        services.comment_post(ticket=ticket, author=StaffFactory(), body="On it, restarting.")
    for later in (2, 3, 4):
        run_scan_at(T0 + later * HOUR)
    assert level(ticket) == 2
    assert Ticket.objects.get(pk=ticket.pk).escalation_next_at is None


def test_an_internal_note_does_not_stop_the_climb(pm, site, contacts):
    ticket = file(pm, site)
    run_scan_at(T0 + HOUR)
    with time_machine.travel(T0 + 90 * MINUTE, tick=False):
        services.comment_post(
            ticket=ticket, author=StaffFactory(), body="Looking at logs", public=False
        )
    run_scan_at(T0 + 2 * HOUR)
    assert level(ticket) == 3


def _queries_for_breaching(pm, site, n: int, at) -> int:
    with time_machine.travel(at, tick=False):
        for _ in range(n):
            services.ticket_create(
                actor=pm,
                site=site,
                kind=Kind.INCIDENT,
                impact="high",
                title="Down",
                description="Down",
            )
    with (
        time_machine.travel(at + HOUR, tick=False),
        CaptureQueriesContext(connection) as queries,
    ):
        counts = sla_scan_run(now=at + HOUR)
    assert counts["breaches"] == n
    return len(queries)


def test_breaching_and_escalating_10_or_100_tickets_in_one_scan_costs_the_same_queries(
    pm, site, contacts, on_postgres
):
    ten = _queries_for_breaching(pm, site, 10, T0)
    Ticket.objects.update(sla_next_check_at=None, escalation_next_at=None)
    hundred = _queries_for_breaching(pm, site, 100, T0 + 10 * HOUR)
    assert level_counts() == {2: 110}
    if on_postgres:
        assert ten == hundred
    else:
        # SQLite caps a statement at 999 parameters, so Django splits big bulk inserts.
        assert hundred - ten <= 10, (ten, hundred)


def level_counts() -> dict[int, int]:
    counts: dict[int, int] = {}
    for value in Ticket.objects.values_list("escalation_level", flat=True):
        counts[value] = counts.get(value, 0) + 1
    return counts
