"""The automatic ladder, driven the way the scan drives it: the breach signal, then scan
passes at later times."""

import io
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction

from escalation.models import EscalationMaximum, EscalationRecord
from sla.scan import sla_scan_run
from sla.signals import first_response_recorded
from tickets.models import Kind, Status, Ticket, TicketEvent

from .conftest import MINUTES, T0, breach, overdue_ticket

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def scan_at(when):
    with time_machine.travel(when, tick=False):
        return sla_scan_run(now=when)


def level_of(ticket) -> int:
    return Ticket.objects.values_list("escalation_level", flat=True).get(pk=ticket.pk)


def test_high_incident_without_response_reaches_level_4_after_3_hours():
    ticket = overdue_ticket(impact="high")
    with time_machine.travel(T0 + HOUR, tick=False):
        ticket = breach(ticket)
    assert ticket.escalation_level == 2
    assert ticket.escalated_at == T0 + HOUR
    assert ticket.escalation_next_at == T0 + 2 * HOUR

    assert scan_at(T0 + 2 * HOUR - timedelta(minutes=1))["escalations"] == 0
    assert level_of(ticket) == 2
    assert scan_at(T0 + 2 * HOUR)["escalations"] == 1
    assert level_of(ticket) == 3
    assert scan_at(T0 + 3 * HOUR)["escalations"] == 1
    assert level_of(ticket) == 4
    for later in (4, 5, 24):
        assert scan_at(T0 + later * HOUR)["escalations"] == 0

    ticket.refresh_from_db()
    assert ticket.escalation_level == 4
    assert ticket.escalated_at == T0 + 3 * HOUR
    assert ticket.escalation_next_at is None
    records = list(EscalationRecord.objects.filter(ticket=ticket).order_by("level"))
    assert [(r.level, r.reached_at, r.automatic) for r in records] == [
        (2, T0 + HOUR, True),
        (3, T0 + 2 * HOUR, True),
        (4, T0 + 3 * HOUR, True),
    ]
    history = TicketEvent.objects.filter(ticket=ticket, action=TicketEvent.Action.ESCALATED)
    assert [e.changes["escalation_level"] for e in history] == [[1, 2], [2, 3], [3, 4]]


@pytest.mark.parametrize(
    ("kind", "impact", "top"),
    [
        (Kind.INCIDENT, "medium", 3),
        (Kind.INCIDENT, "low", 2),
        (Kind.GENERAL, "", 2),
        (Kind.TASK, "", 2),
        (Kind.CHANGE, "", 2),
    ],
)
def test_ticket_climbs_one_level_per_window_and_stops_at_its_maximum(kind, impact, top):
    ticket = overdue_ticket(kind=kind, impact=impact)
    window = timedelta(minutes=MINUTES[(kind, impact)])
    due = ticket.response_due_at
    with time_machine.travel(due, tick=False):
        breach(ticket)
    levels = [level_of(ticket)]
    for k in range(1, 5):
        scan_at(due + k * window)
        levels.append(level_of(ticket))
    expected = [min(2 + k, top) for k in range(5)]
    assert levels == expected
    ticket.refresh_from_db()
    assert ticket.escalation_next_at is None


def test_first_response_stops_the_climb():
    ticket = overdue_ticket(impact="high")
    with time_machine.travel(T0 + HOUR, tick=False):
        breach(ticket)
    with time_machine.travel(T0 + 90 * timedelta(minutes=1), tick=False), transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        locked.responded_at = T0 + 90 * timedelta(minutes=1)
        locked.save(update_fields=["responded_at"])
        first_response_recorded.send(sender=Ticket, ticket=locked, responded_at=locked.responded_at)
    ticket.refresh_from_db()
    assert ticket.escalation_next_at is None
    for later in (2, 3, 4):
        assert scan_at(T0 + later * HOUR)["escalations"] == 0
    assert level_of(ticket) == 2


def test_a_response_the_handler_missed_still_stops_the_step():
    ticket = overdue_ticket(impact="high")
    with time_machine.travel(T0 + HOUR, tick=False):
        breach(ticket)
    Ticket.objects.filter(pk=ticket.pk).update(responded_at=T0 + 90 * timedelta(minutes=1))
    assert scan_at(T0 + 2 * HOUR)["escalations"] == 0
    ticket.refresh_from_db()
    assert (ticket.escalation_level, ticket.escalation_next_at) == (2, None)


@pytest.mark.parametrize("status", [Status.RESOLVED, Status.CLOSED])
def test_ticket_no_longer_open_stops_climbing(status):
    ticket = overdue_ticket(impact="high")
    with time_machine.travel(T0 + HOUR, tick=False):
        breach(ticket)
    Ticket.objects.filter(pk=ticket.pk).update(status=status)
    scan_at(T0 + 2 * HOUR)
    ticket.refresh_from_db()
    assert (ticket.escalation_level, ticket.escalation_next_at) == (2, None)


def test_ticket_waiting_on_client_does_not_climb_until_the_client_answers():
    ticket = overdue_ticket(impact="high")
    with time_machine.travel(T0 + HOUR, tick=False):
        breach(ticket)
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.WAITING_ON_CLIENT)
    scan_at(T0 + 2 * HOUR)
    ticket.refresh_from_db()
    assert ticket.escalation_level == 2
    assert ticket.escalation_next_at == T0 + 3 * HOUR
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.IN_PROGRESS)
    scan_at(T0 + 3 * HOUR)
    assert level_of(ticket) == 3


def test_maximum_levels_are_data_edited_in_admin():
    EscalationMaximum.objects.filter(kind=Kind.INCIDENT, impact="high").update(max_level=3)
    ticket = overdue_ticket(impact="high")
    with time_machine.travel(T0 + HOUR, tick=False):
        breach(ticket)
    for later in (2, 3, 4):
        scan_at(T0 + later * HOUR)
    assert level_of(ticket) == 3


def test_a_scan_that_fell_behind_climbs_one_level_per_pass_and_gives_a_full_window():
    ticket = overdue_ticket(impact="high")
    with time_machine.travel(T0 + HOUR, tick=False):
        breach(ticket)
    assert scan_at(T0 + 5 * HOUR)["escalations"] == 1
    ticket.refresh_from_db()
    assert ticket.escalation_level == 3
    assert ticket.escalation_next_at == T0 + 6 * HOUR


def test_breach_of_a_ticket_whose_maximum_is_level_1_escalates_nothing():
    EscalationMaximum.objects.filter(kind=Kind.GENERAL).update(max_level=1)
    ticket = overdue_ticket(kind=Kind.GENERAL, impact="")
    breach(ticket)
    ticket.refresh_from_db()
    assert (ticket.escalation_level, ticket.escalation_next_at) == (1, None)
    assert not EscalationRecord.objects.exists()


def test_breach_signal_is_received_by_escalation_inside_the_scans_transaction():
    ticket = overdue_ticket(impact="high")
    with pytest.raises(RuntimeError), transaction.atomic():
        breach(ticket)
        raise RuntimeError("the scan failed after recording the breach")
    ticket.refresh_from_db()
    assert ticket.escalation_level == 1
    assert not EscalationRecord.objects.exists()


def test_run_sla_scan_command_escalates_and_delivers_the_emails(site):
    from django.core import mail
    from django.core.management import call_command

    from .factories import EscalationContactFactory

    EscalationContactFactory(at=2, site=site, email="team@stmarys.example")
    EscalationContactFactory(at=4, email="exec@rxhealth.example")
    ticket = overdue_ticket(impact="high", site=site)
    with time_machine.travel(T0 + HOUR, tick=False):
        breach(ticket)
        call_command("run_sla_scan", stdout=io.StringIO())  # delivers level 2
    outputs = []
    for later in (2, 3, 4):
        with time_machine.travel(T0 + later * HOUR, tick=False):
            out = io.StringIO()
            call_command("run_sla_scan", stdout=out)
            outputs.append(out.getvalue())
    assert level_of(ticket) == 4
    assert "escalations: 1" in outputs[0]
    assert "escalations: 1" in outputs[1]
    assert "escalations: 0" in outputs[2]
    assert sorted((m.to[0], m.subject.split(":")[0][-7:]) for m in mail.outbox) == [
        ("exec@rxhealth.example", "level 4"),
        ("team@stmarys.example", "level 2"),
        ("team@stmarys.example", "level 3"),
        ("team@stmarys.example", "level 4"),
    ]


def test_raising_the_impact_after_the_climb_stopped_lets_it_climb_to_the_new_maximum():
    from tests.tickets.factories import StaffFactory
    from tickets.services import ticket_impact_change

    ticket = overdue_ticket(impact="low")
    with time_machine.travel(ticket.response_due_at, tick=False):
        breach(ticket)
    ticket.refresh_from_db()
    assert (ticket.escalation_level, ticket.escalation_next_at) == (2, None)
    changed_at = ticket.response_due_at + HOUR
    with time_machine.travel(changed_at, tick=False):
        ticket_impact_change(ticket=ticket, actor=StaffFactory(), impact="high")
    ticket.refresh_from_db()
    assert ticket.escalation_next_at == changed_at + HOUR
    scan_at(changed_at + HOUR)
    scan_at(changed_at + 2 * HOUR)
    scan_at(changed_at + 3 * HOUR)
    assert level_of(ticket) == 4


def test_resolving_stops_the_climb_and_reopening_resumes_it():
    from tests.tickets.factories import StaffFactory
    from tickets.services import ticket_status_change

    agent = StaffFactory()
    ticket = overdue_ticket(impact="high")
    with time_machine.travel(T0 + HOUR, tick=False):
        breach(ticket)
    with time_machine.travel(T0 + 90 * timedelta(minutes=1), tick=False):
        ticket_status_change(ticket=ticket, actor=agent, status=Status.RESOLVED)
    ticket.refresh_from_db()
    assert ticket.escalation_next_at is None
    with time_machine.travel(T0 + 5 * HOUR, tick=False):
        ticket_status_change(ticket=ticket, actor=agent, status=Status.IN_PROGRESS)
    ticket.refresh_from_db()
    assert ticket.escalation_next_at == T0 + 6 * HOUR
    scan_at(T0 + 6 * HOUR)
    assert level_of(ticket) == 3
