"""Clocks moved by what happens to a ticket: replies, pauses, impact changes, policy edits."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sla import services as sla_services
from sla.models import SLAPolicy
from sla.signals import first_response_recorded
from tests.sla.conftest import MONDAY
from tests.sla.factories import BusinessCalendarFactory, HolidayFactory
from tests.sla.helpers import at, file_ticket, fresh, scan_at
from tickets import services
from tickets.errors import DomainError
from tickets.models import Comment, Notification, SLAState, Status, Ticket

pytestmark = pytest.mark.django_db

H = datetime.timedelta(hours=1)
M = datetime.timedelta(minutes=1)
NY = ZoneInfo("America/New_York")


def reply(ticket, author, when, **kwargs):
    kwargs.setdefault("body", "We are on it.")
    return at(when, services.comment_post, ticket=fresh(ticket), author=author, **kwargs)


def status(ticket, actor, when, value):
    return at(when, services.ticket_status_change, ticket=fresh(ticket), actor=actor, status=value)


# First response


def test_first_public_staff_reply_meets_the_first_response(site, pm, agent):
    ticket = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
    heard = []
    first_response_recorded.connect(
        lambda **kw: heard.append(kw["responded_at"]), weak=False, dispatch_uid="t1"
    )
    try:
        reply(ticket, agent, MONDAY + 2 * H)
        reply(ticket, agent, MONDAY + 3 * H)
    finally:
        first_response_recorded.disconnect(dispatch_uid="t1")
    ticket = fresh(ticket)
    assert ticket.responded_at == MONDAY + 2 * H
    assert ticket.sla_state == SLAState.MET
    assert ticket.sla_next_check_at is None
    assert heard == [MONDAY + 2 * H]


def test_internal_notes_and_client_replies_do_not_count_as_a_response(site, pm, agent):
    ticket = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
    reply(ticket, agent, MONDAY + H, public=False, body="Checking the logs.")
    reply(ticket, pm, MONDAY + 2 * H, body="Any news?")
    assert fresh(ticket).responded_at is None
    scan_at(MONDAY + 8 * H)
    assert fresh(ticket).sla_state == SLAState.BREACHED


@pytest.mark.parametrize("kind", ["task", "change"])
def test_first_response_to_task_or_change_without_an_estimate_is_refused(site, pm, agent, kind):
    ticket = file_ticket(actor=pm, site=site, kind=kind, at=MONDAY)
    with pytest.raises(DomainError) as refused:
        reply(ticket, agent, MONDAY + H)
    assert refused.value.field == "estimated_resolution_at"
    assert "estimated resolution time" in refused.value.message
    assert not Comment.objects.filter(ticket=ticket).exists()

    estimate = MONDAY + 48 * H
    reply(ticket, agent, MONDAY + H, estimated_resolution_at=estimate)
    ticket = fresh(ticket)
    assert ticket.responded_at == MONDAY + H
    assert ticket.estimated_resolution_at == estimate
    reply(ticket, agent, MONDAY + 2 * H)  # later replies need no estimate


def test_general_requests_and_incidents_need_no_estimate(site, pm, agent):
    for kind in ("general", "incident"):
        ticket = file_ticket(actor=pm, site=site, kind=kind, at=MONDAY)
        reply(ticket, agent, MONDAY + 10 * M)
        assert fresh(ticket).responded_at is not None


def test_an_estimate_in_the_past_is_refused(site, pm, agent):
    ticket = file_ticket(actor=pm, site=site, kind="task", at=MONDAY)
    with pytest.raises(DomainError, match="future"):
        reply(ticket, agent, MONDAY + H, estimated_resolution_at=MONDAY)


def test_a_public_staff_reply_restarts_the_incident_update_cadence(site, pm, agent):
    ticket = file_ticket(actor=pm, site=site, impact="medium", at=MONDAY)
    reply(ticket, agent, MONDAY + 5 * H)
    ticket = fresh(ticket)
    assert ticket.last_client_update_at == MONDAY + 5 * H
    assert ticket.next_update_due_at == MONDAY + 13 * H
    scan_at(MONDAY + 8 * H)
    assert fresh(ticket).client_update_count == 0
    scan_at(MONDAY + 13 * H)
    assert fresh(ticket).client_update_count == 1


# Pause and resume


def test_waiting_on_client_pauses_and_the_client_reply_resumes_with_due_times_moved(
    site, pm, agent
):
    ticket = file_ticket(actor=pm, site=site, impact="medium", at=MONDAY)  # 8 h, every 8 h
    status(ticket, agent, MONDAY + 2 * H, Status.WAITING_ON_CLIENT)
    ticket = fresh(ticket)
    assert ticket.sla_state == SLAState.PAUSED
    assert ticket.sla_next_check_at is None

    scan_at(MONDAY + 20 * H)  # nothing falls due while paused
    assert fresh(ticket).response_breached_at is None
    assert not Notification.objects.filter(ticket=ticket, event="client_update").exists()

    reply(ticket, pm, MONDAY + 5 * H + 30 * M, body="Here is the screenshot.")
    ticket = fresh(ticket)
    assert ticket.status == Status.IN_PROGRESS  # back by itself
    assert ticket.paused_seconds == int(3.5 * 3600)
    assert ticket.response_due_at == MONDAY + 11 * H + 30 * M
    assert ticket.next_update_due_at == MONDAY + 11 * H + 30 * M
    assert ticket.sla_state == SLAState.ON_TRACK

    scan_at(MONDAY + 11 * H + 29 * M)
    assert fresh(ticket).response_breached_at is None
    scan_at(MONDAY + 11 * H + 30 * M)
    assert fresh(ticket).response_breached_at == MONDAY + 11 * H + 30 * M


def test_a_public_reply_during_a_pause_starts_a_full_update_cycle_at_resume(site, pm, agent):
    ticket = file_ticket(actor=pm, site=site, impact="medium", at=MONDAY)  # every 8 h
    status(ticket, agent, MONDAY + 2 * H, Status.WAITING_ON_CLIENT)
    reply(ticket, agent, MONDAY + 3 * H, body="Could you send the log?")
    reply(ticket, pm, MONDAY + 5 * H, body="Attached.")
    ticket = fresh(ticket)
    assert ticket.responded_at == MONDAY + 3 * H
    assert ticket.next_update_due_at == MONDAY + 13 * H  # 8 h after the clock resumed
    assert ticket.sla_state == SLAState.MET


def test_pause_on_a_business_hours_clock_moves_due_times_by_paused_working_time(site, pm, agent):
    calendar = BusinessCalendarFactory()
    SLAPolicy.objects.filter(kind="general").update(calendar=calendar)
    filed = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=NY)  # Monday 09:00
    ticket = file_ticket(actor=pm, site=site, kind="general", at=filed)
    assert ticket.response_due_at == datetime.datetime(2026, 11, 23, 17, 0, tzinfo=NY)

    # Paused Monday 16:00 (one working hour left) until Tuesday 10:00 (two working hours).
    status(ticket, agent, datetime.datetime(2026, 11, 23, 16, 0, tzinfo=NY), "waiting_on_client")
    reply(ticket, pm, datetime.datetime(2026, 11, 24, 10, 0, tzinfo=NY), body="Done.")
    ticket = fresh(ticket)
    assert ticket.response_due_at == datetime.datetime(2026, 11, 24, 11, 0, tzinfo=NY)
    assert ticket.response_paused_seconds == 4 * 3600  # 16-18 Monday, 08-10 Tuesday


def test_resolved_tickets_stop_their_clocks_and_reopening_resumes_them(site, pm, agent):
    ticket = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
    status(ticket, pm, MONDAY + H, Status.RESOLVED)
    assert fresh(ticket).sla_next_check_at is None
    assert fresh(ticket).sla_state == SLAState.PAUSED  # not "on track": nothing is counting
    status(ticket, pm, MONDAY + 3 * H, Status.IN_PROGRESS)
    assert fresh(ticket).response_due_at == MONDAY + 10 * H


def test_a_resolved_ticket_keeps_the_outcome_of_its_first_response(site, pm, agent):
    answered = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
    reply(answered, agent, MONDAY + H)
    status(answered, agent, MONDAY + 2 * H, Status.RESOLVED)
    assert fresh(answered).sla_state == SLAState.MET

    missed = file_ticket(actor=pm, site=site, impact="high", at=MONDAY)
    scan_at(MONDAY + 2 * H)
    status(missed, agent, MONDAY + 3 * H, Status.CLOSED)
    assert fresh(missed).sla_state == SLAState.BREACHED


# Business hours policies


def test_a_policy_on_business_hours_counts_only_working_time_and_skips_holidays(site, pm):
    calendar = BusinessCalendarFactory()
    HolidayFactory(calendar=calendar, date=datetime.date(2026, 11, 26), name="Thanksgiving")
    SLAPolicy.objects.filter(kind="incident", impact="low").update(calendar=calendar)
    filed = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=NY)  # Wednesday noon
    ticket = file_ticket(actor=pm, site=site, impact="low", at=filed)
    # 6 h Wednesday, Thursday is a holiday, 10 h Friday = 16 h.
    assert ticket.response_due_at == datetime.datetime(2026, 11, 27, 18, 0, tzinfo=NY)
    # Client updates stay elapsed time whatever the calendar.
    assert ticket.next_update_due_at == filed + 16 * H


def test_business_hours_target_is_exact_across_the_spring_forward_weekend(site, pm):
    SLAPolicy.objects.filter(kind="general").update(calendar=BusinessCalendarFactory())
    filed = datetime.datetime(2027, 3, 12, 17, 0, tzinfo=NY)  # Friday 17:00 EST
    ticket = file_ticket(actor=pm, site=site, kind="general", at=filed)
    due = datetime.datetime(2027, 3, 15, 19, 0, tzinfo=datetime.UTC)  # Monday 15:00 EDT
    assert ticket.response_due_at == due
    scan_at(due - M)
    assert fresh(ticket).response_breached_at is None
    scan_at(due)
    assert fresh(ticket).response_breached_at == due


def test_business_hours_target_is_exact_across_the_fall_back_weekend(site, pm):
    SLAPolicy.objects.filter(kind="general").update(calendar=BusinessCalendarFactory())
    filed = datetime.datetime(2027, 11, 5, 17, 0, tzinfo=NY)  # Friday 17:00 EDT
    ticket = file_ticket(actor=pm, site=site, kind="general", at=filed)
    due = datetime.datetime(2027, 11, 8, 20, 0, tzinfo=datetime.UTC)  # Monday 15:00 EST
    assert ticket.response_due_at == due
    scan_at(due - M)
    assert fresh(ticket).response_breached_at is None
    scan_at(due)
    assert fresh(ticket).response_breached_at == due


# Impact changes and policy edits


def test_raising_impact_retargets_from_filing_and_an_overdue_target_falls_due_now(site, pm, agent):
    ticket = file_ticket(actor=pm, site=site, impact="low", at=MONDAY)  # due in 16 h
    at(
        MONDAY + 3 * H,
        services.ticket_impact_change,
        ticket=fresh(ticket),
        actor=agent,
        impact="high",
    )
    ticket = fresh(ticket)
    # High is 1 h from filing, already past: due at the change, not backdated into a breach.
    assert ticket.response_due_at == MONDAY + 3 * H
    assert ticket.next_update_due_at == MONDAY + 3 * H
    history = ticket.events.filter(action="sla").last()
    assert history is not None
    assert history.changes["response_due_at"][1] == (MONDAY + 3 * H).isoformat()
    assert ticket.events.filter(action="impact_changed").exists()

    scan_at(MONDAY + 3 * H)
    ticket = fresh(ticket)
    assert ticket.response_breached_at == MONDAY + 3 * H
    assert ticket.client_update_count == 1
    assert ticket.next_update_due_at == MONDAY + 4 * H


def test_lowering_impact_retargets_from_filing(site, pm, agent):
    ticket = file_ticket(actor=pm, site=site, impact="high", at=MONDAY)
    at(
        MONDAY + 30 * M,
        services.ticket_impact_change,
        ticket=fresh(ticket),
        actor=agent,
        impact="medium",
    )
    ticket = fresh(ticket)
    assert ticket.response_due_at == MONDAY + 8 * H
    assert ticket.next_update_due_at == MONDAY + 8 * H
    scan_at(MONDAY + H)
    assert fresh(ticket).response_breached_at is None


def test_a_recorded_breach_survives_an_impact_change(site, pm, agent):
    ticket = file_ticket(actor=pm, site=site, impact="high", at=MONDAY)
    scan_at(MONDAY + H)
    at(
        MONDAY + 2 * H,
        services.ticket_impact_change,
        ticket=fresh(ticket),
        actor=agent,
        impact="low",
    )
    ticket = fresh(ticket)
    assert ticket.response_breached_at == MONDAY + H
    assert ticket.sla_state == SLAState.BREACHED


def test_editing_a_policy_retargets_open_tickets_and_leaves_closed_ones(site, pm, agent):
    open_ticket = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
    closed = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
    status(closed, agent, MONDAY + H, Status.CLOSED)
    policy = SLAPolicy.objects.get(kind="general")
    policy.first_response_minutes = 4 * 60
    policy.save()

    at(MONDAY + 2 * H, sla_services.sla_policy_retarget, policy_id=policy.pk)

    assert fresh(open_ticket).response_due_at == MONDAY + 4 * H
    assert fresh(closed).response_due_at == MONDAY + 8 * H
    scan_at(MONDAY + 4 * H)
    assert fresh(open_ticket).response_breached_at == MONDAY + 4 * H


def test_editing_a_calendar_retargets_the_tickets_of_policies_counting_in_it(
    site, pm, django_capture_on_commit_callbacks
):
    calendar = BusinessCalendarFactory()
    SLAPolicy.objects.filter(kind="general").update(calendar=calendar)
    filed = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=NY)  # Wednesday noon
    ticket = file_ticket(actor=pm, site=site, kind="general", at=filed)
    assert ticket.response_due_at == datetime.datetime(2026, 11, 26, 10, 0, tzinfo=NY)

    # The re-target runs after commit, so the whole edit happens at one fixed instant.
    with (
        time_machine.travel(filed + H, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        HolidayFactory(calendar=calendar, date=datetime.date(2026, 11, 26), name="Thanksgiving")
        sla_services.sla_calendar_changed(calendar=calendar)
    assert fresh(ticket).response_due_at == datetime.datetime(2026, 11, 27, 10, 0, tzinfo=NY)


def _retarget_queries(policy, *, site, pm, count: int) -> int:
    """Queries of one re-target of `policy` over `count` fresh open tickets it governs."""
    SLAPolicy.objects.exclude(pk=policy.pk).update(calendar=None)
    tickets = [file_ticket(actor=pm, site=site, kind="general", at=MONDAY) for _ in range(count)]
    with CaptureQueriesContext(connection) as queries:
        assert at(MONDAY + H, sla_services.sla_policy_retarget, policy_id=policy.pk) >= count
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(status=Status.CLOSED)
    return len(queries)


def test_a_policy_retarget_reads_its_calendar_once_however_many_tickets_it_retargets(site, pm):
    policy = SLAPolicy.objects.get(kind="general")
    elapsed = {n: _retarget_queries(policy, site=site, pm=pm, count=n) for n in (5, 20)}
    calendar = BusinessCalendarFactory()
    for day in (datetime.date(2026, 11, 26), datetime.date(2026, 12, 25)):
        HolidayFactory(calendar=calendar, date=day)
    SLAPolicy.objects.filter(pk=policy.pk).update(calendar=calendar)
    working = {n: _retarget_queries(policy, site=site, pm=pm, count=n) for n in (5, 20)}
    # The calendar costs its periods, its holidays and its current version once (three
    # queries), not per ticket.
    assert working[5] - elapsed[5] == working[20] - elapsed[20] == 3, (elapsed, working)
