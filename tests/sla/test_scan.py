"""The scan: once-only work, counts, steps, rollback, and a cost that follows due tickets."""

import datetime
import gc
import re
import threading
import zoneinfo

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from sla import scan
from sla.models import SLAPolicy
from sla.selectors import scan_last
from sla.signals import responses_breached
from tests.sla.conftest import MONDAY
from tests.sla.factories import BusinessCalendarFactory, HolidayFactory
from tests.sla.helpers import at, file_ticket, fresh, scan_at
from tests.tickets.factories import ClientSiteFactory, MembershipFactory
from tickets.models import Notification, Role
from tickets.outbox import notifications_deliver_due

H = datetime.timedelta(hours=1)


@pytest.fixture
def breaches_heard():
    heard: list[tuple[int, datetime.datetime | None]] = []

    def handler(*, tickets, **kwargs):
        heard.extend((ticket.pk, ticket.response_breached_at) for ticket in tickets)

    responses_breached.connect(handler, weak=False, dispatch_uid="test_breaches_heard")
    yield heard
    responses_breached.disconnect(dispatch_uid="test_breaches_heard")


@pytest.fixture
def breach_threads():
    """The name of the thread that handled each breached ticket (lanes are named sla-scan)."""
    names: list[str] = []

    def handler(*, tickets, **kwargs):
        names.extend(threading.current_thread().name for _ in tickets)

    responses_breached.connect(handler, weak=False, dispatch_uid="test_breach_threads")
    yield names
    responses_breached.disconnect(dispatch_uid="test_breach_threads")


@pytest.mark.django_db
def test_a_scan_records_its_run_and_returns_its_counts_including_registered_steps(site, pm):
    file_ticket(actor=pm, site=site, impact="high", at=MONDAY)
    scan.step_register("test_step", lambda now: 7)
    try:
        counts = scan_at(MONDAY + H)
    finally:
        scan._STEPS.pop("test_step")
    assert counts == {
        "tickets_checked": 1,
        "at_risk_warnings": 0,
        "breaches": 1,
        "client_updates": 1,
        "update_warnings": 0,
        "escalations": 0,  # the breach put it at level 2; the step climbs from there
        "api_idempotency_purged": 0,
        "test_step": 7,
    }
    run = scan_last()
    assert run is not None
    assert run.counts == counts
    assert run.started_at == MONDAY + H
    assert run.finished_at is not None


@pytest.mark.django_db
def test_a_breach_and_its_escalation_keep_their_moments_to_the_microsecond_across_a_dst_change(
    site, pm
):
    # Filed at 01:30:00.123456 in New York on the night its clocks go forward: the hour of
    # elapsed time it has for a first response ends at 03:30:00.123456 EDT.
    new_york = zoneinfo.ZoneInfo("America/New_York")
    filed = datetime.datetime(2026, 3, 8, 1, 30, 0, 123456, tzinfo=new_york)
    site.timezone = "America/New_York"
    site.save(update_fields=["timezone"])
    ticket = file_ticket(actor=pm, site=site, impact="high", at=filed)
    due = datetime.datetime(2026, 3, 8, 3, 30, 0, 123456, tzinfo=new_york)
    assert fresh(ticket).response_due_at == due
    at(filed, notifications_deliver_due)  # the receipt and the new-ticket alert
    mail.outbox.clear()
    scanned = datetime.datetime(2026, 3, 8, 8, 0, 0, 654321, tzinfo=datetime.UTC)
    scan_at(scanned)

    ticket = fresh(ticket)
    assert ticket.response_breached_at == due  # when the target was missed, not when seen
    assert ticket.escalation_level == 2 and ticket.escalated_at == scanned
    assert ticket.escalation_next_at == due + H  # one window after the step that was due
    (record,) = ticket.escalation_records.all()
    assert record.reached_at == scanned
    (breach,) = [m for m in mail.outbox if "was missed" in m.body]
    assert "it was due Sun 08 Mar 2026, 03:30 EDT" in breach.body


@pytest.mark.django_db
def test_breach_signal_is_sent_once_per_ticket_with_when_it_happened(site, pm, breaches_heard):
    ticket = file_ticket(actor=pm, site=site, kind="general", at=MONDAY)
    for minutes in (480, 481, 600):
        scan_at(MONDAY + datetime.timedelta(minutes=minutes))
    assert breaches_heard == [(ticket.pk, MONDAY + 8 * H)]


@pytest.mark.django_db
def test_a_scan_inside_a_transaction_that_rolls_back_leaves_nothing_behind(site, pm):
    ticket = file_ticket(actor=pm, site=site, impact="high", at=MONDAY)
    before = Notification.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        counts = scan_at(MONDAY + H)
        assert counts["client_updates"] == 1
        raise RuntimeError("the worker died")
    assert Notification.objects.count() == before
    ticket = fresh(ticket)
    assert ticket.response_breached_at is None
    assert ticket.client_update_count == 0
    assert ticket.events.filter(action="sla").count() == 0
    # The next scan does the work, once.
    scan_at(MONDAY + H + datetime.timedelta(minutes=1))
    assert fresh(ticket).client_update_count == 1


def business_hours_for_high_incidents() -> None:
    """Put the high-incident policy on a business calendar with holidays (none of them the
    test's Monday), so the clocks count working time."""
    calendar = BusinessCalendarFactory()
    for day in (datetime.date(2026, 11, 26), datetime.date(2026, 12, 25)):
        HolidayFactory(calendar=calendar, date=day)
    SLAPolicy.objects.filter(kind="incident", impact="high").update(calendar=calendar)


@pytest.mark.django_db
@pytest.mark.parametrize("policy_clock", ["24x7", "business calendar"])
def test_a_scan_touches_only_due_tickets_with_a_fixed_number_of_queries(site, pm, policy_clock):
    if policy_clock == "business calendar":
        business_hours_for_high_incidents()
    for _ in range(3):
        file_ticket(actor=pm, site=site, impact="high", at=MONDAY)
    for _ in range(5):
        file_ticket(actor=pm, site=site, impact="low", at=MONDAY)  # not due
    with CaptureQueriesContext(connection) as few:
        counts = scan_at(MONDAY + H)
    assert counts["tickets_checked"] == 3

    other = ClientSiteFactory()
    other_pm = MembershipFactory(site=other, role=Role.PM).user
    half_hour = datetime.timedelta(minutes=30)
    for _ in range(12):
        file_ticket(actor=other_pm, site=other, impact="high", at=MONDAY + half_hour)
    # The first three are not due again until their next update; the twelve breach now.
    with CaptureQueriesContext(connection) as many:
        counts = scan_at(MONDAY + H + half_hour)
    assert counts["tickets_checked"] == 12
    assert len(many) == len(few)


@pytest.mark.django_db(transaction=True)
def test_scan_delivers_its_emails_after_commit(site, pm, it):
    file_ticket(actor=pm, site=site, impact="high", at=MONDAY)
    mail.outbox.clear()
    scan_at(MONDAY + H)
    assert sorted(m.to[0] for m in mail.outbox) == [
        "it@stmarys.example",
        "pm@stmarys.example",
        "queue@rxhealth.example",
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_three_scans_at_the_same_instant_send_every_update_and_breach_exactly_once(
    site, pm, it, breaches_heard
):
    tickets = [file_ticket(actor=pm, site=site, impact="high", at=MONDAY) for _ in range(30)]
    mail.outbox.clear()
    now = MONDAY + H
    start = threading.Barrier(3)
    results, errors = [], []

    def run():
        try:
            start.wait()
            results.append(scan.sla_scan_run(now=now))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(r["breaches"] for r in results) == 30
    assert sum(r["client_updates"] for r in results) == 30
    assert sorted(pk for pk, _ in breaches_heard) == sorted(t.pk for t in tickets)
    for ticket in tickets:
        ticket = fresh(ticket)
        assert ticket.client_update_count == 1
        assert ticket.events.filter(action="sla").count() == 2
    updates = Notification.objects.filter(event="client_update")
    breaches = Notification.objects.filter(event="response_breached")
    assert updates.count() == 60 and breaches.count() == 30
    assert set(updates.values_list("status", flat=True)) == {"sent"}
    assert set(breaches.values_list("status", flat=True)) == {"sent"}
    # Each recipient hears of each ticket in exactly one message (grouped per recipient).
    heard = [
        (m.to[0], reference)
        for m in mail.outbox
        for reference in set(re.findall(r"RX-\d+", str(m.body)))
    ]
    references = {t.reference for t in tickets}
    recipients = ["queue@rxhealth.example", "pm@stmarys.example", "it@stmarys.example"]
    assert sorted(heard) == sorted((r, ref) for r in recipients for ref in references)
    assert len(mail.outbox) < 90


@pytest.fixture
def another_thread():
    """A thread of this process that lives through the test (as in a worker running its
    tasks in threads): a pass cannot fork its lanes safely then, and runs them as threads."""
    done = threading.Event()
    thread = threading.Thread(target=done.wait, name="another-thread")
    thread.start()
    yield thread
    done.set()
    thread.join()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_beside_other_threads_a_mass_breach_is_shared_by_lane_threads_each_ticket_once(
    site, pm, it, settings, breach_threads, another_thread
):
    settings.SLA_SCAN_BATCH_SIZE = 10
    settings.SLA_SCAN_LANES = 3
    tickets = [file_ticket(actor=pm, site=site, impact="high", at=MONDAY) for _ in range(45)]
    mail.outbox.clear()
    counts = scan.sla_scan_run(now=MONDAY + H)

    assert counts["breaches"] == 45 and counts["tickets_checked"] == 45
    assert len(breach_threads) == 45
    # The pass's own thread and threads on their own connections shared the batches.
    assert any(name.startswith("sla-scan") for name in breach_threads)
    for ticket in tickets:
        assert fresh(ticket).events.filter(action="sla", message__contains="missed").count() == 1
    breaches = Notification.objects.filter(event="response_breached")
    assert breaches.count() == 45
    assert set(breaches.values_list("status", flat=True)) == {"sent"}
    # The hold covered every lane: the queue heard of the 45 breaches in one message.
    (queue,) = [m for m in mail.outbox if m.to == ["queue@rxhealth.example"]]
    assert queue.subject.startswith("45 tickets need your attention")
    # The pass's connection waits for the WAL flush again once its lanes are done.
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_lanes_share_a_mass_breach_in_equal_batches_so_none_works_alone_through_the_rest(
    site, pm, settings, another_thread
):
    settings.SLA_SCAN_BATCH_SIZE = 10
    settings.SLA_SCAN_LANES = 3
    filed = [file_ticket(actor=pm, site=site, impact="high", at=MONDAY) for _ in range(31)]
    batches: list[int] = []

    def handler(*, tickets, **kwargs):
        batches.append(len(tickets))

    responses_breached.connect(handler, weak=False, dispatch_uid="test_equal_batches")
    try:
        counts = scan.sla_scan_run(now=MONDAY + H)
    finally:
        responses_breached.disconnect(dispatch_uid="test_equal_batches")

    assert counts["breaches"] == 31
    # 31 due on three lanes: six batches of at most 6 (two a lane), not three of 10 and a
    # fourth of one that a single lane works while the other two have nothing left.
    assert sorted(batches) == [1, 6, 6, 6, 6, 6]
    for ticket in filed:
        assert fresh(ticket).events.filter(action="sla", message__contains="missed").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_pass_with_no_more_than_a_batch_due_starts_no_lane(site, pm, settings, breach_threads):
    settings.SLA_SCAN_BATCH_SIZE = 10
    settings.SLA_SCAN_LANES = 3
    for _ in range(10):
        file_ticket(actor=pm, site=site, impact="high", at=MONDAY)
    counts = scan.sla_scan_run(now=MONDAY + H)
    assert counts["breaches"] == 10
    assert breach_threads == [threading.current_thread().name] * 10


@pytest.mark.django_db
def test_the_cycle_collector_rests_during_a_pass_and_runs_again_after_it_even_if_it_fails(site, pm):
    file_ticket(actor=pm, site=site, impact="high", at=MONDAY)
    seen: list[bool] = []

    def step(now):
        seen.append(gc.isenabled())
        if len(seen) == 2:
            raise RuntimeError("the step failed")
        return 0

    scan.step_register("test_collector", step)
    try:
        scan_at(MONDAY + H)
        assert seen == [False] and gc.isenabled()
        with pytest.raises(RuntimeError):
            scan_at(MONDAY + 2 * H)
        assert seen == [False, False] and gc.isenabled()
    finally:
        scan._STEPS.pop("test_collector")
